"""User-facing CLI and report messages in Bahasa Indonesia (default) and English.

``t("key", lang, **values)``. Add a key to both languages; a missing key is a bug and
raises ``KeyError`` in tests.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.enums import Language
from domain.messages import MESSAGES as DOMAIN_MESSAGES

MESSAGES: dict[str, dict[Language, str]] = {
    "backup.written": {
        Language.ID: "Cadangan tersimpan di {folder}: basis data {backend} (revisi skema "
        "{revision}), {files} berkas, {bytes:,} byte. Simpan folder ini di tempat lain.",
        Language.EN: "Backup written to {folder}: {backend} database (schema revision "
        "{revision}), {files} files, {bytes:,} bytes. Keep this folder somewhere else.",
    },
    "backup.restored": {
        Language.ID: "Cadangan {folder} (dibuat {created}, Kinanti {version}) telah dipulihkan "
        "ke {url}.",
        Language.EN: "Backup {folder} (made {created}, Kinanti {version}) restored into {url}.",
    },
    # --- replication (issue 10) ---
    "replication.catalogue_row": {
        Language.ID: "{code} {title} | pemilik: {owner} | urusan: {urusan} | skor SID: "
        "{sid_score} | manfaat: {benefits} | replika dalam kota: {replicas_inside_city}, "
        "daerah lain: {other_regions} (level Replikasi {replikasi_level})",
        Language.EN: "{code} {title} | owner: {owner} | urusan: {urusan} | SID score: "
        "{sid_score} | benefits: {benefits} | replicas inside the city: "
        "{replicas_inside_city}, other regions: {other_regions} (Replikasi level "
        "{replikasi_level})",
    },
    "replication.offered": {
        Language.ID: "{code} ditawarkan untuk replikasi (penawaran #{offer})",
        Language.EN: "{code} is offered for replication (offer #{offer})",
    },
    "replication.interest": {
        Language.ID: "Minat replikasi {code} tercatat (adopsi #{adoption}); Brida memutus",
        Language.EN: "Interest in {code} recorded (adoption #{adoption}); Brida decides",
    },
    "replication.decided": {
        Language.ID: "Adopsi #{adoption}: {status}",
        Language.EN: "Adoption #{adoption}: {status}",
    },
    "replication.suggestion_row": {
        Language.ID: "    saran pereplikasi: {unit} {name}: {why}",
        Language.EN: "    suggested adopter: {unit} {name}: {why}",
    },
    "replication.no_suggestion": {
        Language.ID: "Tidak ada unit yang disarankan untuk {code}",
        Language.EN: "No unit is suggested for {code}",
    },
    "match.same_kind": {
        Language.ID: "unit sejenis dengan pemiliknya ({owner})",
        Language.EN: "a unit of the same kind as its owner ({owner})",
    },
    "match.same_urusan": {
        Language.ID: "bekerja di urusan {urusan} tetapi belum menjalankan yang serupa",
        Language.EN: "works in {urusan} but runs nothing like it",
    },
    "match.at_risk": {
        Language.ID: "berisiko belum memenuhi kewajiban tahun {year} ({counted} inovasi "
        "terhitung): replikasi adalah cara cepat memenuhinya",
        Language.EN: "may miss the {year} obligation ({counted} innovation(s) counted): "
        "replicating is a fast way to comply",
    },
    "replication.level_line": {
        Language.ID: "Level Replikasi (IID): {level}; {note}",
        Language.EN: "Replikasi level (IID): {level}; {note}",
    },
    "replication.no_incoming": {
        Language.ID: "Belum ada replikasi masuk dari daerah lain",
        Language.EN: "No incoming replication from other regions yet",
    },
    "replication.refused": {
        Language.ID: "Keputusan atas adopsi #{adoption} ditolak: {reason}. Gerbang tetap menunggu.",
        Language.EN: "The decision on adoption #{adoption} was refused: {reason}. The gate "
        "keeps waiting.",
    },
    "replication.sent": {
        Language.ID: "Keputusan atas adopsi #{adoption} dikirim ke flow run {run}; belum "
        "tercatat (lihat lagi nanti)",
        Language.EN: "The decision on adoption #{adoption} was sent to flow run {run}; not "
        "recorded yet (check again later)",
    },
    "replication.replica": {
        Language.ID: "Replika {replica} dibuat; siklusnya dimulai pada tahap perencanaan",
        Language.EN: "Replica {replica} created; its lifecycle starts at planning",
    },
    # --- Klinik Kinanti, the desk (``kinanti klinik ...``) ---
    "cli.klinik.booked": {
        Language.ID: "konsultasi #{consultation} dijadwalkan {when}",
        Language.EN: "consultation #{consultation} booked for {when}",
    },
    "cli.klinik.moved": {
        Language.ID: "konsultasi #{consultation} dipindah ke {when}",
        Language.EN: "consultation #{consultation} moved to {when}",
    },
    "cli.klinik.cancelled": {
        Language.ID: "konsultasi #{consultation} dibatalkan",
        Language.EN: "consultation #{consultation} cancelled",
    },
    "cli.klinik.invited": {
        Language.ID: "konsultasi #{consultation}: {emails} diundang",
        Language.EN: "consultation #{consultation}: invited {emails}",
    },
    "cli.klinik.held": {
        Language.ID: "konsultasi #{consultation} berlangsung; sesi tercatat",
        Language.EN: "consultation #{consultation} held; session recorded",
    },
    "cli.klinik.follow_up_added": {
        Language.ID: "tindak lanjut #{follow_up} ditambahkan, tenggat {due}",
        Language.EN: "follow-up #{follow_up} added, due {due}",
    },
    "cli.klinik.follow_up_done": {
        Language.ID: "tindak lanjut #{follow_up} selesai",
        Language.EN: "follow-up #{follow_up} done",
    },
    "cli.klinik.follow_up_closed": {
        Language.ID: "tindak lanjut #{follow_up} ditutup",
        Language.EN: "follow-up #{follow_up} closed",
    },
    "cli.klinik.visit_recorded": {
        Language.ID: "kunjungan #{visit} tercatat",
        Language.EN: "visit #{visit} recorded",
    },
    "cli.klinik.triaged": {
        Language.ID: "{reference} -> usulan {innovation}",
        Language.EN: "{reference} -> proposal {innovation}",
    },
    "cli.klinik.closed": {
        Language.ID: "{reference} ditutup",
        Language.EN: "{reference} closed",
    },
    "db.upgraded": {
        Language.ID: "Basis data siap: {url}",
        Language.EN: "Database is up to date: {url}",
    },
    "engine.serving": {
        Language.ID: "Kinanti berjalan. Prefect UI: {ui}  (Ctrl+C untuk berhenti)",
        Language.EN: "Kinanti is running. Prefect UI: {ui}  (Ctrl+C to stop)",
    },
    "engine.stopping": {
        Language.ID: "Menghentikan Kinanti...",
        Language.EN: "Stopping Kinanti...",
    },
    "engine.stop_forced": {
        Language.ID: "Kinanti belum berhenti setelah {seconds} detik; dihentikan paksa. "
        "Jejak thread di bawah ini.",
        Language.EN: "Kinanti did not stop within {seconds} s; forcing it. Thread stacks follow.",
    },
    "web.serving": {
        Language.ID: "Portal Kinanti berjalan di {url}  (Ctrl+C untuk berhenti)",
        Language.EN: "The Kinanti portal is running at {url}  (Ctrl+C to stop)",
    },
    "engine.no_api_later": {
        Language.ID: "Prefect belum berjalan; rekonsiliator akan memulai alur nanti "
        "(`kinanti serve`).",
        Language.EN: "Prefect is not running; the reconciler will start the flow later "
        "(`kinanti serve`).",
    },
    "engine.run_started": {
        Language.ID: "Alur {code} dimulai dari tahap {stage} (flow run {run})",
        Language.EN: "Started {code} at stage {stage} (flow run {run})",
    },
    "engine.decision_refused": {
        Language.ID: "Keputusan ditolak; gerbang tetap menunggu: {reason}",
        Language.EN: "Decision refused; the gate keeps waiting: {reason}",
    },
    "engine.decision_sent": {
        Language.ID: "Keputusan untuk {code} dikirim ke flow run {run}; belum tercatat "
        "(lihat `kinanti innovations show {code}`).",
        Language.EN: "Decision for {code} sent to flow run {run}; not recorded yet "
        "(see `kinanti innovations show {code}`).",
    },
    "engine.decision_recorded": {
        Language.ID: "Keputusan {decision} untuk {code} tercatat (lewat {via}); "
        "tahap kini: {stage}",
        Language.EN: "Decision {decision} for {code} recorded (via {via}); stage now: {stage}",
    },
    "engine.evaluated": {
        Language.ID: "Scorecard {code} tercatat; rata-rata {total}",
        Language.EN: "Scorecard for {code} recorded; average {total}",
    },
    "engine.resubmitted": {
        Language.ID: "{code} diajukan kembali; tahapnya dijalankan lagi.",
        Language.EN: "{code} resubmitted; its stage runs again.",
    },
    "engine.ended": {
        Language.ID: "{code} diakhiri: {outcome}",
        Language.EN: "{code} ended: {outcome}",
    },
    "engine.gates_title": {
        Language.ID: "Gerbang menunggu keputusan: {n}",
        Language.EN: "Gates waiting for a decision: {n}",
    },
    "engine.reopened": {
        Language.ID: "Gerbang {code} dibuka lagi di flow run {run}",
        Language.EN: "Gate of {code} reopened in flow run {run}",
    },
    "engine.assigned": {
        Language.ID: "Gerbang {code} kini ditugaskan kepada {assignee}",
        Language.EN: "The gate of {code} is now assigned to {assignee}",
    },
    "engine.unassigned": {
        Language.ID: "Gerbang {code} kini menunggu di antrean peran (belum ditugaskan)",
        Language.EN: "The gate of {code} now waits in the role's queue (unassigned)",
    },
    "demo.start": {
        Language.ID: "Demo Kinanti (data contoh Kota Mataram) di {home}",
        Language.EN: "Kinanti demo (illustrative Kota Mataram data) in {home}",
    },
    "demo.imported": {
        Language.ID: "  dimuat {kind}: {n}",
        Language.EN: "  loaded {kind}: {n}",
    },
    "demo.recorded": {
        Language.ID: "  {n} inovasi dicatat pada tahap masing-masing; {live} dijalankan langsung "
        "lewat Prefect",
        Language.EN: "  {n} innovations recorded at their stages; {live} carried live through "
        "Prefect",
    },
    "demo.reviewer": {
        Language.ID: "[PENINJAU OTOMATIS / scripted reviewer]",
        Language.EN: "[SCRIPTED REVIEWER]",
    },
    "demo.replicated": {
        Language.ID: "replikasi {origin} oleh {adopter} (adopsi #{adoption_id}) disetujui; "
        "replika {replica} memulai siklusnya pada tahap perencanaan",
        Language.EN: "replication of {origin} by {adopter} (adoption #{adoption_id}) approved; "
        "the replica {replica} starts its lifecycle at planning",
    },
    "demo.summary_title": {
        Language.ID: "Inovasi per tahap dan hasil",
        Language.EN: "Innovations per stage and outcome",
    },
    "demo.col_stage": {Language.ID: "tahap", Language.EN: "stage"},
    "demo.col_outcome": {Language.ID: "hasil akhir", Language.EN: "outcome"},
    "demo.figures": {
        Language.ID: "Gerbang diputus: {decided} (ditolak aturan: {refused}); peristiwa: {events} "
        "(diumumkan ke Prefect: {announced}); email terkirim: {sent}, gagal: {failed}, "
        "berkas .eml: {files}",
        Language.EN: "Gates decided: {decided} (refused by the rules: {refused}); events: "
        "{events} (announced to Prefect: {announced}); emails sent: {sent}, failed: {failed}, "
        ".eml files: {files}",
    },
    "demo.iid": {
        Language.ID: "Proyeksi IID Kota {year} dari {n} inovasi: klaim {claimed} ({claimed_band}), "
        "terverifikasi {verified} ({verified_band})",
        Language.EN: "Projected {year} city IID from {n} innovations: claimed {claimed} "
        "({claimed_band}), verified {verified} ({verified_band})",
    },
    "demo.where": {
        Language.ID: "Selesai dalam {seconds} dtk. Lihat:\n  Prefect UI : {ui} (tetap buka: "
        "KINANTI_HOME={home} kinanti serve)\n  Email      : {outbox}\n  Laporan    : {report}",
        Language.EN: "Done in {seconds} s. Look at:\n  Prefect UI : {ui} (keep it open: "
        "KINANTI_HOME={home} kinanti serve)\n  Emails     : {outbox}\n  Report     : {report}",
    },
    "demo.portal": {
        Language.ID: "Portal Kinanti: {url} (jalankan: KINANTI_HOME={home} kinanti web). "
        "Kata sandi demo, dibuat acak untuk run ini:",
        Language.EN: "Kinanti portal: {url} (start it: KINANTI_HOME={home} kinanti web). "
        "Demo passwords, generated at random for this run:",
    },
    "demo.unfinished": {
        Language.ID: "Belum selesai dalam batas waktu: {codes}",
        Language.EN: "Not finished within the time limit: {codes}",
    },
    "demo.keep": {
        Language.ID: "Server Prefect tetap berjalan; Ctrl+C untuk berhenti.",
        Language.EN: "The Prefect server keeps running; Ctrl+C to stop.",
    },
    "outbox.empty": {
        Language.ID: "Tidak ada email di outbox{status}.",
        Language.EN: "No emails in the outbox{status}.",
    },
    "outbox.title": {Language.ID: "Outbox email", Language.EN: "Email outbox"},
    "outbox.columns": {
        Language.ID: "id|status|templat|penerima|percobaan|dibuat|terkirim|galat terakhir",
        Language.EN: "id|status|template|recipient|attempts|created|sent|last error",
    },
    "outbox.requeued": {
        Language.ID: "{count} email gagal dikembalikan ke antrean.",
        Language.EN: "{count} failed emails queued again.",
    },
    "outbox.delivered": {
        Language.ID: "Terkirim {sent}, gagal {failed}, dicoba ulang nanti {retried}, "
        "dilewati {skipped}.",
        Language.EN: "Sent {sent}, failed {failed}, to retry later {retried}, skipped {skipped}.",
    },
    "error": {Language.ID: "Galat: {message}", Language.EN: "Error: {message}"},
    # --- registry (kinanti units|people|innovations) ---
    "registry.imported": {
        Language.ID: "{file}: {total} {kind} diproses — {created} baru, {updated} diperbarui, "
        "{unchanged} tidak berubah",
        Language.EN: "{file}: {total} {kind} processed — {created} created, {updated} updated, "
        "{unchanged} unchanged",
    },
    "registry.import_failed": {
        Language.ID: "Impor {file} gagal ({count} masalah); tidak ada data yang ditulis:",
        Language.EN: "Import of {file} failed ({count} problems); nothing was written:",
    },
    "registry.kind.units": {Language.ID: "unit kerja", Language.EN: "units"},
    "registry.kind.people": {Language.ID: "orang", Language.EN: "people"},
    "registry.kind.innovations": {Language.ID: "inovasi", Language.EN: "innovations"},
    "registry.kind.replications": {Language.ID: "replikasi", Language.EN: "replications"},
    "registry.empty": {Language.ID: "Belum ada data.", Language.EN: "Nothing registered yet."},
    "registry.units_title": {Language.ID: "Unit kerja ({count})", Language.EN: "Units ({count})"},
    "registry.people_title": {Language.ID: "Orang ({count})", Language.EN: "People ({count})"},
    "registry.innovations_title": {
        Language.ID: "Inovasi ({count})",
        Language.EN: "Innovations ({count})",
    },
    "registry.history_title": {Language.ID: "Riwayat tahapan", Language.EN: "Stage history"},
    "registry.gates_title": {Language.ID: "Gerbang persetujuan", Language.EN: "Gates"},
    "registry.evaluations_title": {Language.ID: "Penilaian", Language.EN: "Evaluations"},
    "registry.inactive": {Language.ID: "nonaktif", Language.EN: "inactive"},
    "registry.revision": {Language.ID: "perlu perbaikan", Language.EN: "revision requested"},
    "registry.yes": {Language.ID: "ya", Language.EN: "yes"},
    "registry.no": {Language.ID: "tidak", Language.EN: "no"},
    "registry.words": {Language.ID: "{count} kata", Language.EN: "{count} words"},
    "registry.complete": {Language.ID: "lengkap", Language.EN: "complete"},
    "registry.accepted": {Language.ID: "diterima", Language.EN: "accepted"},
    "registry.refused": {Language.ID: "ditolak", Language.EN: "refused"},
    "registry.col.code": {Language.ID: "Kode", Language.EN: "Code"},
    "registry.col.name": {Language.ID: "Nama", Language.EN: "Name"},
    "registry.col.kind": {Language.ID: "Jenis", Language.EN: "Kind"},
    "registry.col.parent": {Language.ID: "Induk", Language.EN: "Parent"},
    "registry.col.head": {Language.ID: "Kepala", Language.EN: "Head"},
    "registry.col.officer": {Language.ID: "Operator inovasi", Language.EN: "Innovation officer"},
    "registry.col.language": {Language.ID: "Bahasa", Language.EN: "Language"},
    "registry.col.email": {Language.ID: "Surel", Language.EN: "Email"},
    "registry.col.unit": {Language.ID: "Unit", Language.EN: "Unit"},
    "registry.col.roles": {Language.ID: "Peran", Language.EN: "Roles"},
    "registry.col.title": {Language.ID: "Nama inovasi", Language.EN: "Innovation"},
    "registry.col.year": {Language.ID: "Tahun", Language.EN: "Year"},
    "registry.col.stage": {Language.ID: "Tahap", Language.EN: "Stage"},
    "registry.col.outcome": {Language.ID: "Hasil akhir", Language.EN: "Outcome"},
    "registry.col.jenis": {Language.ID: "Jenis", Language.EN: "Type (jenis)"},
    "registry.col.bentuk": {Language.ID: "Bentuk", Language.EN: "Form (bentuk)"},
    "registry.col.initiator": {Language.ID: "Inisiator", Language.EN: "Initiator"},
    "registry.col.urusan": {Language.ID: "Urusan", Language.EN: "Government affairs"},
    "registry.col.tematik": {Language.ID: "Tematik", Language.EN: "Theme (tematik)"},
    "registry.col.budget": {Language.ID: "Anggaran", Language.EN: "Budget"},
    "registry.col.trial_start": {Language.ID: "Mulai uji coba", Language.EN: "Trial start"},
    "registry.col.implementation_start": {
        Language.ID: "Mulai penerapan",
        Language.EN: "Implementation start",
    },
    "registry.col.adopting_act": {Language.ID: "Dasar hukum", Language.EN: "Adopting act"},
    "registry.col.consultation": {
        Language.ID: "Minta konsultasi",
        Language.EN: "Consultation requested",
    },
    "registry.col.origin": {Language.ID: "Replikasi dari", Language.EN: "Replicates"},
    "registry.col.replicas": {Language.ID: "Direplikasi oleh", Language.EN: "Replicated by"},
    "registry.col.design": {Language.ID: "Rancang bangun", Language.EN: "Design narrative"},
    "registry.col.goals": {Language.ID: "Tujuan", Language.EN: "Goals"},
    "registry.col.benefits": {Language.ID: "Manfaat", Language.EN: "Benefits"},
    "registry.col.problems": {
        Language.ID: "Kelengkapan usulan",
        Language.EN: "Proposal completeness",
    },
    "registry.col.when": {Language.ID: "Waktu", Language.EN: "When"},
    "registry.col.from": {Language.ID: "Dari", Language.EN: "From"},
    "registry.col.to": {Language.ID: "Ke", Language.EN: "To"},
    "registry.col.actor": {Language.ID: "Oleh", Language.EN: "By"},
    "registry.col.reason": {Language.ID: "Alasan", Language.EN: "Reason"},
    "registry.col.round": {Language.ID: "Putaran", Language.EN: "Round"},
    "registry.col.status": {Language.ID: "Status", Language.EN: "Status"},
    "registry.col.opened": {Language.ID: "Dibuka", Language.EN: "Opened"},
    "registry.col.decided": {Language.ID: "Diputuskan", Language.EN: "Decided"},
    "registry.col.decisions": {Language.ID: "Keputusan", Language.EN: "Decisions"},
    "registry.col.evaluator": {Language.ID: "Penilai", Language.EN: "Evaluator"},
    "registry.col.scores": {Language.ID: "Nilai", Language.EN: "Scores"},
    "registry.col.total": {Language.ID: "Rata-rata", Language.EN: "Average"},
    "registry.col.recommendation": {Language.ID: "Rekomendasi", Language.EN: "Recommendation"},
    "registry.stage.planning": {Language.ID: "perencanaan", Language.EN: "planning"},
    "registry.stage.development": {Language.ID: "pengembangan", Language.EN: "development"},
    "registry.stage.deployment": {Language.ID: "penerapan", Language.EN: "deployment"},
    "registry.stage.reporting": {Language.ID: "pelaporan", Language.EN: "reporting"},
    "registry.stage.replication": {Language.ID: "replikasi", Language.EN: "replication"},
    "registry.outcome.rejected": {Language.ID: "ditolak", Language.EN: "rejected"},
    "registry.outcome.withdrawn": {Language.ID: "ditarik", Language.EN: "withdrawn"},
    "registry.outcome.discontinued": {Language.ID: "dihentikan", Language.EN: "discontinued"},
    "registry.gate.open": {Language.ID: "menunggu keputusan", Language.EN: "open"},
    "registry.gate.approved": {Language.ID: "disetujui", Language.EN: "approved"},
    "registry.gate.revise": {Language.ID: "perlu perbaikan", Language.EN: "revise"},
    "registry.gate.rejected": {Language.ID: "ditolak", Language.EN: "rejected"},
    "registry.gate.closed": {Language.ID: "ditutup", Language.EN: "closed"},
    "registry.role.brida_operator": {Language.ID: "operator Brida", Language.EN: "Brida operator"},
    "registry.role.head_of_brida": {Language.ID: "Kepala Brida", Language.EN: "head of Brida"},
    "registry.role.reviewer": {Language.ID: "penelaah", Language.EN: "reviewer"},
    "registry.role.innovator": {Language.ID: "inovator", Language.EN: "innovator"},
    "registry.role.unit_officer": {Language.ID: "operator unit", Language.EN: "unit officer"},
    "registry.role.unit_head": {Language.ID: "kepala unit", Language.EN: "unit head"},
    # --- IID, compliance and readiness (issue 12)
    "iid.prognosis": {
        Language.ID: "PROGNOSIS: katalog {year} adalah perkiraan dari pedoman, belum diterbitkan",
        Language.EN: "PROGNOSIS: the {year} catalogue is a forecast from the guideline, "
        "not published yet",
    },
    "iid.count_term.no_rule": {
        Language.ID: "JumlahInovasi berlaku: {year} tidak mensyaratkan urusan pelayanan dasar",
        Language.EN: "JumlahInovasi applies: {year} has no basic-service rule",
    },
    "iid.count_term.applies": {
        Language.ID: "JumlahInovasi berlaku: {have} dari 6 urusan pelayanan dasar ada "
        "(disyaratkan {need})",
        Language.EN: "JumlahInovasi applies: {have} of the 6 basic-service affairs present "
        "({need} required)",
    },
    "iid.count_term.zero": {
        Language.ID: "JumlahInovasi = 0: hanya {have} dari 6 urusan pelayanan dasar ada; "
        "disyaratkan {need} (kurang {short})",
        Language.EN: "JumlahInovasi = 0: only {have} of the 6 basic-service affairs present; "
        "{need} required ({short} short)",
    },
    "iid.basic_present": {Language.ID: "ada: {names}", Language.EN: "present: {names}"},
    "iid.basic_missing": {Language.ID: "belum ada: {names}", Language.EN: "missing: {names}"},
    "iid.none": {Language.ID: "-", Language.EN: "-"},
    "iid.empty_seats": {
        Language.ID: "Kursi kosong: {seats} inovasi lagi hingga n mencapai k = {k} (n = {n}); "
        "selama n < k jumlah SID dibagi {k}",
        Language.EN: "Empty seats (kursi kosong): {seats} more innovation(s) until n reaches "
        "k = {k} (n = {n}); while n < k the SID sum is divided by {k}",
    },
    "iid.no_empty_seats": {
        Language.ID: "Kursi kosong: 0 (n = {n} sudah mencapai k = {k})",
        Language.EN: "Empty seats (kursi kosong): 0 (n = {n} has reached k = {k})",
    },
    "iid.mandatory_missing": {Language.ID: "wajib kosong", Language.EN: "mandatory missing"},
    "readiness.title": {
        Language.ID: "Kesiapan pengumpulan nasional {year}: {ready} dari {total} inovasi siap",
        Language.EN: "Readiness for the national collection {year}: {ready} of {total} "
        "innovations ready",
    },
    "readiness.ready": {Language.ID: "siap", Language.EN: "ready"},
    "readiness.not_ready": {Language.ID: "belum siap", Language.EN: "not ready"},
    "readiness.profile_field": {
        Language.ID: "isian profil kosong: {field}",
        Language.EN: "profile field missing: {field}",
    },
    "readiness.design_words": {
        Language.ID: "rancang bangun {words} kata; minimal {min} kata",
        Language.EN: "design narrative has {words} words; at least {min} needed",
    },
    "readiness.no_implementation": {
        Language.ID: "tanggal mulai penerapan belum diisi",
        Language.EN: "implementation start date missing",
    },
    "readiness.outside_window": {
        Language.ID: "penerapan mulai {date}, di luar rentang {start} s.d. {end}",
        Language.EN: "implementation started {date}, outside {start} to {end}",
    },
    "readiness.mandatory_missing": {
        Language.ID: "indikator wajib belum diklaim: {codes}",
        Language.EN: "mandatory indicators not claimed: {codes}",
    },
    "readiness.unverified": {
        Language.ID: "bukti belum diverifikasi: {codes}",
        Language.EN: "evidence not yet verified: {codes}",
    },
    "readiness.basis_missing": {
        Language.ID: "dasar pengukuran belum dipilih: {codes}",
        Language.EN: "measurement basis not chosen: {codes}",
    },
    "readiness.no_window": {
        Language.ID: "rentang penerapan {year} tidak diketahui; tanggal tidak diperiksa",
        Language.EN: "no implementation window known for {year}; dates not checked",
    },
    "readiness.ended": {
        Language.ID: "berakhir ({outcome}); tidak dilaporkan",
        Language.EN: "ended ({outcome}); not reported",
    },
    "field.title": {Language.ID: "nama inovasi", Language.EN: "name"},
    "field.goals": {Language.ID: "tujuan", Language.EN: "goals"},
    "field.benefits": {Language.ID: "manfaat", Language.EN: "benefits"},
    "field.results": {Language.ID: "hasil", Language.EN: "results"},
    "field.urusan_main": {Language.ID: "urusan utama", Language.EN: "main government affair"},
    "field.tematik": {Language.ID: "tematik", Language.EN: "theme (tematik)"},
    "field.initiator_name": {Language.ID: "nama inisiator", Language.EN: "initiator's name"},
    "field.adopting_act_number": {
        Language.ID: "nomor dasar hukum (SK / Perkada / Perda)",
        Language.EN: "adopting act number (SK / Perkada / Perda)",
    },
    "field.budget": {Language.ID: "anggaran", Language.EN: "budget"},
    "iid.verified_line": {
        Language.ID: "IID terverifikasi: {iid} ({band})",
        Language.EN: "Verified IID: {iid} ({band})",
    },
    "iid.claimed_line": {
        Language.ID: "IID diklaim:       {iid} ({band})",
        Language.EN: "Claimed IID:  {iid} ({band})",
    },
    "evidence.claimed": {
        Language.ID: "{target} {indicator} {year}: tingkat {level}, {status}",
        Language.EN: "{target} {indicator} {year}: level {level}, {status}",
    },
    "evidence.verified": {
        Language.ID: "{target} {indicator} {year}: {status}",
        Language.EN: "{target} {indicator} {year}: {status}",
    },
    "evidence.verified_level": {Language.ID: " (tingkat {level})", Language.EN: " (level {level})"},
    "evidence.row": {
        Language.ID: "{year} {indicator}{mark} diklaim {claimed} terverifikasi {verified} "
        "{status} {evidence}",
        Language.EN: "{year} {indicator}{mark} claimed {claimed} verified {verified} "
        "{status} {evidence}",
    },
    "evidence.status.pending": {Language.ID: "menunggu", Language.EN: "pending"},
    "evidence.status.accepted": {Language.ID: "diterima", Language.EN: "accepted"},
    "evidence.status.rejected": {Language.ID: "ditolak", Language.EN: "rejected"},
    "evidence.unchanged": {Language.ID: "tidak berubah", Language.EN: "unchanged"},
    "evidence.reset": {Language.ID: "verifikasi diulang", Language.EN: "verification reset"},
    "evidence.none": {Language.ID: "(belum ada klaim)", Language.EN: "(no claims)"},
    "compliance.no_units": {
        Language.ID: "(tidak ada unit aktif)",
        Language.EN: "(no active units)",
    },
    "compliance.exempted": {
        Language.ID: "{unit} {year}: dikecualikan ({reason})",
        Language.EN: "{unit} {year}: exempt ({reason})",
    },
    "compliance.swept": {
        Language.ID: "{year}: {counts}; diperingatkan {warned}, evaluasi khusus {special}",
        Language.EN: "{year}: {counts}; warned {warned}, special evaluations {special}",
    },
    # the reasons Kinanti itself records in an innovation's stage history
    "history.submitted": {Language.ID: "diajukan", Language.EN: "submitted"},
    "history.approved": {Language.ID: "disetujui", Language.EN: "approved"},
    "readiness.col": {Language.ID: "siap_nasional", Language.EN: "national_ready"},
    "readiness.blockers_col": {Language.ID: "penghambat", Language.EN: "blockers"},
}


def t(key: str, lang: Language | str = Language.ID, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (falls back to Indonesian), formatted with values.

    Keys the domain owns (its errors, compliance reasons) come from ``domain.messages``.
    """
    entry = MESSAGES.get(key) or DOMAIN_MESSAGES[key]
    text = entry.get(Language(lang), entry[Language.ID])
    return text.format(**values)


def rupiah(amount: Decimal | int | float | str | None, lang: Language | str = Language.ID) -> str:
    """An amount of money in Rupiah, as the reader writes it: ``Rp 1.250.000`` (Bahasa
    Indonesia: dots group thousands, a comma before sen) or ``Rp 1,250,000`` (English).
    Sen are shown only when there are any; ``-`` for no amount. The one money format of the
    portal, the emails (``notifications.render.Labels.money``) and the CLI."""
    if amount is None or amount == "":
        return "-"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    whole = value == value.to_integral_value()
    text = f"{value:,.0f}" if whole else f"{value:,.2f}"
    if Language(lang) is Language.ID:
        text = text.translate(_ID_DIGITS)
    return f"Rp {text}"


_ID_DIGITS = str.maketrans({",": ".", ".": ","})


def history_reason(reason: str | None, lang: Language | str = Language.ID) -> str:
    """A stage-history reason for the reader: the words Kinanti records itself
    (``submitted``, ``approved``) translated, a person's own reason as written."""
    if not reason:
        return "-"
    entry = MESSAGES.get(f"history.{reason}")
    return entry[Language(lang)] if entry else reason
