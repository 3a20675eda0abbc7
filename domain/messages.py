"""Messages of the domain (its errors, proposal problems and compliance reasons), per code,
in Bahasa Indonesia and English.

A translation table (data): ``render(code, language, params)`` formats the message of an
error code. A parameter may be a list (joined with "; ") or a mapping by language (the
value for the reader's language is taken), so a message never mixes two languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.enums import Language

_ID, _EN = Language.ID, Language.EN

MESSAGES: Mapping[str, Mapping[Language, str]] = {
    "gate.wrong_role": {
        _EN: "the {stage} gate can only be decided by: {roles}",
        _ID: "gerbang {stage} hanya dapat diputus oleh: {roles}",
    },
    "gate.own_unit": {
        _EN: "a reviewer from the owning unit cannot decide its own innovation's gate",
        _ID: "peninjau dari unit pemilik tidak boleh memutus gerbang inovasinya sendiri",
    },
    "gate.proposal_incomplete": {
        _EN: "the proposal is incomplete: {problems}",
        _ID: "proposal belum lengkap: {problems}",
    },
    "gate.scorecard_missing": {
        _EN: "a trial (uji coba) evaluation scorecard is required before approval",
        _ID: "scorecard evaluasi uji coba wajib diisi sebelum persetujuan",
    },
    "gate.act_missing": {
        _EN: "the adopting act (SK / Perkada / Perda) is required before approval",
        _ID: "dasar hukum penerapan (SK / Perkada / Perda) wajib dicatat sebelum persetujuan",
    },
    "gate.evidence_missing": {
        _EN: "at least one piece of implementation evidence is required before approval",
        _ID: "minimal satu bukti penerapan wajib dilampirkan sebelum persetujuan",
    },
    "gate.mandatory_missing": {
        _EN: "mandatory IID indicators lack evidence: {indicators}",
        _ID: "indikator IID wajib belum memiliki bukti dukung: {indicators}",
    },
    "gate.requirements_missing": {_EN: "{parts}", _ID: "{parts}"},
    "gate.reason_required": {
        _EN: "a reason is required to {decision}",
        _ID: "alasan wajib diisi untuk keputusan {decision}",
    },
    "gate.identity_unproven": {
        _EN: "this decision carries no proof of who gives it ({detail}); a typed email address "
        "is not one. Sign in to the Kinanti portal and decide there.",
        _ID: "keputusan ini tidak membawa bukti siapa yang memutus ({detail}); alamat email "
        "yang diketik bukan bukti. Masuk ke portal Kinanti dan putuskan di sana.",
    },
    "gate.not_open": {
        _EN: "{innovation} has no open gate at {stage}{last}",
        _ID: "{innovation} tidak memiliki gerbang terbuka pada tahap {stage}{last}",
    },
    "gate.decided_already": {
        _EN: "the {stage} gate of {innovation} was already decided ({status}); nothing changed",
        _ID: "gerbang {stage} untuk {innovation} sudah diputus ({status}); tidak ada yang berubah",
    },
    "access.refused": {
        _EN: "{email} may not {action}{what}",
        _ID: "{email} tidak berwenang {action}{what}",
    },
    # gate assignment (``domain.assignment``)
    "gate.claim_taken": {
        _EN: "the {stage} gate of {innovation} is already assigned to {assignee}; only a Brida "
        "operator can reassign it",
        _ID: "gerbang {stage} untuk {innovation} sudah ditugaskan kepada {assignee}; hanya "
        "operator Brida yang dapat menugaskannya ulang",
    },
    "gate.not_assignee": {
        _EN: "only the gate's assignee can hand it back; the {stage} gate of {innovation} is "
        "assigned to {assignee}",
        _ID: "hanya penerima tugas gerbang yang dapat mengembalikannya; gerbang {stage} untuk "
        "{innovation} ditugaskan kepada {assignee}",
    },
    "gate.assignee_ineligible": {
        _EN: "{email} cannot be assigned the {stage} gate of {innovation}: it needs an active "
        "person with the role {roles} who is not of the owning unit",
        _ID: "{email} tidak dapat ditugaskan gerbang {stage} untuk {innovation}: diperlukan "
        "orang aktif dengan peran {roles} yang bukan dari unit pemilik",
    },
    "gate.assigned_already": {
        _EN: "the {stage} gate of {innovation} is already assigned to {assignee}; nothing changed",
        _ID: "gerbang {stage} untuk {innovation} sudah ditugaskan kepada {assignee}; tidak ada "
        "yang berubah",
    },
    # compliance reasons (``domain.compliance`` verdict keys): the CLI, reports and emails
    "compliance.exempt": {_ID: "{reason}", _EN: "{reason}"},
    "compliance.compliant": {
        _ID: "{counted} inovasi mencapai tahap hitung pada {year}",
        _EN: "{counted} innovation(s) reached the stage in {year}",
    },
    "compliance.non_compliant": {
        _ID: "tidak ada inovasi yang dilaksanakan pada {year}",
        _EN: "no innovation carried out in {year}",
    },
    "compliance.at_risk_late": {
        _ID: "belum ada inovasi yang mencapai tahap hitung ({in_progress} sedang "
        "berjalan); tahun berakhir {year}-12-31",
        _EN: "no innovation has reached the counting stage yet ({in_progress} in "
        "progress); the year ends on {year}-12-31",
    },
    "compliance.on_track": {
        _ID: "{in_progress} inovasi sedang berjalan",
        _EN: "{in_progress} innovation(s) in progress",
    },
    "compliance.not_started": {
        _ID: "belum ada inovasi yang dimulai",
        _EN: "no innovation started yet",
    },
    # --- replication (issue 10) ---
    "replication.not_reported": {
        _EN: "{innovation} cannot be offered for replication: it has not passed reporting "
        "(stage now: {stage}); offer it once it reaches the replication stage",
        _ID: "{innovation} belum dapat ditawarkan untuk replikasi: belum lulus tahap "
        "pelaporan (tahap kini: {stage}); tawarkan setelah mencapai tahap replikasi",
    },
    "replication.not_owner": {
        _EN: "{email} may not act for unit {unit} (its officers or Brida only)",
        _ID: "{email} tidak dapat bertindak atas nama unit {unit} (hanya petugas unit atau Brida)",
    },
    "replication.wrong_role": {
        _EN: "{email} may not do this; it needs one of the roles: {roles}",
        _ID: "{email} tidak berwenang; diperlukan salah satu peran: {roles}",
    },
    "replication.own_side": {
        _EN: "{email} belongs to the origin's or the adopter's unit and cannot decide this "
        "adoption",
        _ID: "{email} berasal dari unit asal atau unit pereplikasi sehingga tidak boleh "
        "memutus adopsi ini",
    },
    "replication.no_offer": {
        _EN: "{innovation} is not offered for replication (see `kinanti replication catalogue`)",
        _ID: "{innovation} tidak ditawarkan untuk replikasi (lihat `kinanti replication "
        "catalogue`)",
    },
    "replication.adopter_one": {
        _EN: "name the adopter as exactly one of a unit of the city (--adopter) or another "
        "region (--region-name, --region-code, --region-contact)",
        _ID: "sebutkan pereplikasi sebagai tepat satu dari unit kota (--adopter) atau daerah "
        "lain (--region-name, --region-code, --region-contact)",
    },
    "replication.unit_unknown": {
        _EN: "unit {unit!r} is not registered or not active (see `kinanti units list`)",
        _ID: "unit {unit!r} tidak terdaftar atau tidak aktif (lihat `kinanti units list`)",
    },
    "replication.own_innovation": {
        _EN: "unit {unit} owns this innovation; a unit cannot replicate its own innovation",
        _ID: "unit {unit} adalah pemilik inovasi ini; unit tidak dapat mereplikasi inovasinya "
        "sendiri",
    },
    "replication.region_invalid": {
        _EN: "the region's {field} {value!r} is invalid (name: not empty; code: Kemendagri "
        "code such as 52.01; contact: an email address)",
        _ID: "{field} daerah {value!r} tidak valid (nama: wajib; kode: kode Kemendagri seperti "
        "52.01; kontak: alamat email)",
    },
    "replication.interest_open": {
        _EN: "{adopter} already has an open interest in {innovation} (adoption #{adoption}, "
        "{status}); wait for it to be decided or completed",
        _ID: "{adopter} sudah memiliki minat replikasi {innovation} yang masih terbuka (adopsi "
        "#{adoption}, {status}); tunggu sampai diputus atau selesai",
    },
    "replication.name_kept": {
        _EN: "a replica keeps the origin's name; the title cannot be adapted",
        _ID: "replika wajib mempertahankan nama inovasi asal; judul tidak dapat diubah",
    },
    "replication.not_adaptable": {
        _EN: "these fields cannot be adapted: {fields}; adaptable fields: {allowed}",
        _ID: "kolom berikut tidak dapat diadaptasi: {fields}; kolom yang dapat diadaptasi: "
        "{allowed}",
    },
    "replication.evidence_one": {
        _EN: "give the {what} as exactly one of a file or a link",
        _ID: "berikan {what} sebagai tepat satu dari berkas atau tautan",
    },
    "replication.agreement_required": {
        _EN: "a kerja sama adoption needs its agreement (Nota Kesepakatan / PKS) to be approved",
        _ID: "adopsi kerja sama memerlukan naskah kesepakatan (Nota Kesepakatan / PKS) untuk "
        "disetujui",
    },
    "replication.decision_invalid": {
        _EN: "an adoption is approved or rejected, not {decision!r}",
        _ID: "adopsi hanya dapat disetujui atau ditolak, bukan {decision!r}",
    },
    "replication.decided_already": {
        _EN: "adoption #{adoption} was already decided ({status}); nothing changed",
        _ID: "adopsi #{adoption} sudah diputus ({status}); tidak ada yang berubah",
    },
    "replication.wrong_step": {
        _EN: "adoption #{adoption} is not at a step that allows this (stage: {stage})",
        _ID: "adopsi #{adoption} tidak berada pada langkah yang memungkinkan ini (tahap: {stage})",
    },
    "replication.adoption_unknown": {
        _EN: "adoption #{adoption} does not exist",
        _ID: "adopsi #{adoption} tidak ada",
    },
    "replication.basis_required": {
        _EN: "say on what basis the innovation passed reporting (e.g. the IID 2025 report)",
        _ID: "sebutkan dasar bahwa inovasi telah lulus pelaporan (mis. laporan IID 2025)",
    },
    "replication.lineage_what": {
        _EN: "name an innovation (kinanti lineage CODE) or ask for --incoming, not both",
        _ID: "sebutkan satu inovasi (kinanti lineage KODE) atau minta --incoming, tidak keduanya",
    },
    "replication.gate_not_open": {
        _EN: "adoption #{adoption} is still in preparation (persiapan): its flow checks fit "
        "and prerequisites and then opens the gate where Brida decides",
        _ID: "adopsi #{adoption} masih dalam persiapan: alurnya memeriksa kecocokan dan "
        "prasyarat, lalu membuka gerbang tempat Brida memutus",
    },
    "replication.run_lost": {
        _EN: "the flow run waiting at adoption #{adoption}'s gate refused the decision: {detail}",
        _ID: "flow run yang menunggu di gerbang adopsi #{adoption} menolak keputusan: {detail}",
    },
    "replication.origin_name_required": {
        _EN: "an incoming replication needs the origin innovation's name",
        _ID: "replikasi masuk memerlukan nama inovasi asal",
    },
    "person.unknown": {
        _EN: "person {email!r} is not registered (see `kinanti people list`)",
        _ID: "orang {email!r} tidak terdaftar (lihat `kinanti people list`)",
    },
    "innovation.unknown": {
        _EN: "innovation {innovation!r} does not exist (see `kinanti innovations list`)",
        _ID: "inovasi {innovation!r} tidak ada (lihat `kinanti innovations list`)",
    },
    # --- Klinik Kinanti, the desk (issue 10, item 5) ---
    "klinik.time_invalid": {
        _EN: "{value!r} is not a date and time; write it as 2026-03-10 09:30 (local time)",
        _ID: "{value!r} bukan tanggal dan jam; tulis seperti 2026-03-10 09:30 (waktu setempat)",
    },
    "klinik.in_past": {
        _EN: "the time {when} has already passed; choose a time in the future",
        _ID: "waktu {when} sudah lewat; pilih waktu yang akan datang",
    },
    "klinik.consultation_unknown": {
        _EN: "consultation #{consultation} does not exist (see `kinanti klinik list`)",
        _ID: "konsultasi #{consultation} tidak ada (lihat `kinanti klinik list`)",
    },
    "klinik.follow_up_unknown": {
        _EN: "follow-up #{follow_up} does not exist",
        _ID: "tindak lanjut #{follow_up} tidak ada",
    },
    "klinik.visit_unknown": {
        _EN: "mentoring visit #{visit} does not exist (see `kinanti klinik visits`)",
        _ID: "kunjungan pendampingan #{visit} tidak ada (lihat `kinanti klinik visits`)",
    },
    "klinik.request_unknown": {
        _EN: "public request {reference!r} does not exist (see `kinanti klinik requests`)",
        _ID: "permohonan masyarakat {reference!r} tidak ada (lihat `kinanti klinik requests`)",
    },
    "klinik.unit_unknown": {
        _EN: "unit {unit!r} is not registered or not active (see `kinanti units list`)",
        _ID: "unit {unit!r} tidak terdaftar atau tidak aktif (lihat `kinanti units list`)",
    },
    "klinik.unit_required": {
        _EN: "name the unit the consultation is for (or its innovation, or its adoption)",
        _ID: "sebutkan unit yang berkonsultasi (atau inovasinya, atau adopsinya)",
    },
    "klinik.person_unknown": {
        _EN: "{email!r} is not a registered, active person (see `kinanti people list`)",
        _ID: "{email!r} bukan orang terdaftar yang aktif (lihat `kinanti people list`)",
    },
    "klinik.owner_unknown": {
        _EN: "the follow-up's owner {email!r} is not a registered, active person",
        _ID: "penanggung jawab tindak lanjut {email!r} bukan orang terdaftar yang aktif",
    },
    "klinik.not_innovator": {
        _EN: "{email} is not an innovator (role innovator) and cannot mentor or visit",
        _ID: "{email} bukan inovator (peran inovator) sehingga tidak dapat mendampingi "
        "atau berkunjung",
    },
    "klinik.attendee_not_allowed": {
        _EN: "{email} cannot attend a consultation of {unit}: attendees are Brida staff, "
        "innovators and the unit's own officers",
        _ID: "{email} tidak dapat menghadiri konsultasi {unit}: peserta adalah staf Brida, "
        "inovator dan petugas unit itu sendiri",
    },
    "klinik.not_attendee": {
        _EN: "not attendees of consultation #{consultation}: {emails}; invite them first",
        _ID: "bukan peserta konsultasi #{consultation}: {emails}; undang mereka dahulu",
    },
    "klinik.not_booked": {
        _EN: "consultation #{consultation} is {status}; it can no longer be changed this way",
        _ID: "konsultasi #{consultation} berstatus {status}; tidak dapat diubah dengan cara ini",
    },
    "klinik.not_yet_held": {
        _EN: "consultation #{consultation} is scheduled at {when}; record the session after it",
        _ID: "konsultasi #{consultation} dijadwalkan {when}; catat sesi setelah berlangsung",
    },
    "klinik.follow_up_parent": {
        _EN: "a follow-up belongs to exactly one consultation or one mentoring visit",
        _ID: "tindak lanjut milik tepat satu konsultasi atau satu kunjungan pendampingan",
    },
    "klinik.due_past": {
        _EN: "the due date {due} is before today ({today}); choose today or later",
        _ID: "tenggat {due} sebelum hari ini ({today}); pilih hari ini atau sesudahnya",
    },
    "klinik.follow_up_finished": {
        _EN: "follow-up #{follow_up} is already {status}; nothing changed",
        _ID: "tindak lanjut #{follow_up} sudah {status}; tidak ada yang berubah",
    },
    "klinik.note_required": {
        _EN: "say why the follow-up is closed without being done",
        _ID: "tuliskan alasan tindak lanjut ditutup tanpa dikerjakan",
    },
    "klinik.visit_future": {
        _EN: "the visit day {day} has not come yet; record a visit after it took place",
        _ID: "tanggal kunjungan {day} belum tiba; catat kunjungan setelah berlangsung",
    },
    "klinik.request_handled": {
        _EN: "public request {reference} was already handled ({status}); nothing changed",
        _ID: "permohonan masyarakat {reference} sudah ditangani ({status}); tidak ada yang berubah",
    },
    "klinik.code_taken": {
        _EN: "the innovation code {innovation} is taken; choose another",
        _ID: "kode inovasi {innovation} sudah dipakai; pilih kode lain",
    },
    "klinik.text_required": {_EN: "{label} is empty", _ID: "{label} belum diisi"},
    "klinik.text_too_long": {
        _EN: "{label} is longer than {limit} characters",
        _ID: "{label} lebih dari {limit} karakter",
    },
    "klinik.text_invalid": {
        _EN: "{label} contains the control character {character} at position {position} "
        "(binary data or a damaged file?)",
        _ID: "{label} berisi karakter kendali {character} pada posisi {position} (data biner "
        "atau berkas rusak?)",
    },
    # --- evidence store and claims (``domain.evidence``) ---
    "evidence.owner_invalid": {
        _EN: "{owner!r} cannot name an evidence folder",
        _ID: "{owner!r} tidak dapat menjadi nama folder bukti dukung",
    },
    "evidence.outside_store": {
        _EN: "evidence folder {folder} would be outside {root}",
        _ID: "folder bukti dukung {folder} akan berada di luar {root}",
    },
    "evidence.file_missing": {
        _EN: "evidence file {file} does not exist",
        _ID: "berkas bukti dukung {file} tidak ada",
    },
    "evidence.not_a_file": {
        _EN: "evidence {file} is not a regular file",
        _ID: "bukti dukung {file} bukan berkas biasa",
    },
    "evidence.type_refused": {
        _EN: "evidence {file}: type {type} is not allowed; use {allowed} or a http(s) link",
        _ID: "bukti dukung {file}: jenis {type} tidak diterima; gunakan {allowed} atau tautan "
        "http(s)",
    },
    "evidence.empty": {
        _EN: "evidence file {file} is empty",
        _ID: "berkas bukti dukung {file} kosong",
    },
    "evidence.too_large": {
        _EN: "evidence file {file} is {size} MB; the limit is {limit} MB "
        "(KINANTI_EVIDENCE_MAX_BYTES); compress it or give a link",
        _ID: "berkas bukti dukung {file} berukuran {size} MB; batasnya {limit} MB "
        "(KINANTI_EVIDENCE_MAX_BYTES); kecilkan berkasnya atau berikan tautan",
    },
    "evidence.fake_type": {
        _EN: "evidence file {file} is not a real {type} file",
        _ID: "berkas bukti dukung {file} bukan berkas {type} yang sebenarnya",
    },
    "evidence.link_invalid": {
        _EN: "evidence link {link!r} must be an http(s) URL",
        _ID: "tautan bukti dukung {link!r} harus berupa URL http(s)",
    },
    "evidence.claim_refused": {
        _EN: "{email} may not claim evidence for {what}; only {who} may",
        _ID: "{email} tidak berwenang mengklaim bukti dukung untuk {what}; hanya {who} yang "
        "berwenang",
    },
    "evidence.year_required": {
        _EN: "an SPD claim needs the year (--year)",
        _ID: "klaim SPD memerlukan tahun (--year)",
    },
    "evidence.one_source": {
        _EN: "give the evidence as exactly one of a file or a link",
        _ID: "berikan bukti dukung sebagai tepat satu dari berkas atau tautan",
    },
    "evidence.level_invalid": {
        _EN: "a claim needs a level of 1, 2 or 3",
        _ID: "klaim memerlukan tingkat 1, 2 atau 3",
    },
    "evidence.verify_refused": {
        _EN: "{email} may not verify evidence; it needs one of: {roles}",
        _ID: "{email} tidak berwenang memverifikasi bukti dukung; diperlukan salah satu peran: "
        "{roles}",
    },
    "evidence.reason_required": {
        _EN: "a reason is required to reject evidence (--reason)",
        _ID: "alasan wajib diisi untuk menolak bukti dukung (--reason)",
    },
    "evidence.claim_unknown": {
        _EN: "{owner} has no claim for {indicator} in {year}",
        _ID: "{owner} tidak memiliki klaim untuk {indicator} pada {year}",
    },
    "evidence.level_above_claim": {
        _EN: "the verified level must be between 1 and the claimed {claimed}",
        _ID: "tingkat terverifikasi harus antara 1 dan tingkat yang diklaim ({claimed})",
    },
    # --- lifecycle, gates, innovations, units ---
    "innovation.ended": {
        _EN: "{innovation} has ended",
        _ID: "{innovation} sudah berakhir",
    },
    "innovation.no_revision": {
        _EN: "{innovation} has no revision requested; nothing to resubmit",
        _ID: "{innovation} tidak sedang diminta perbaikan; tidak ada yang diajukan kembali",
    },
    "innovation.not_officer": {
        _EN: "{email} is not an officer of {unit} (or a Brida operator)",
        _ID: "{email} bukan petugas unit {unit} (atau operator Brida)",
    },
    "innovation.reason_required": {
        _EN: "a reason is required to mark an innovation {outcome}",
        _ID: "alasan wajib diisi untuk menandai inovasi {outcome}",
    },
    "gate.no_gate": {
        _EN: "{stage} has no gate",
        _ID: "tahap {stage} tidak memiliki gerbang",
    },
    "gate.decision_invalid": {
        _EN: "the gate decision is invalid",
        _ID: "keputusan gerbang tidak valid",
    },
    "gate.unknown": {
        _EN: "gate {gate} does not exist",
        _ID: "gerbang {gate} tidak ada",
    },
    "gate.catalogue_missing": {
        _EN: "no IID catalogue for {year}; add one before reporting: {detail}",
        _ID: "belum ada katalog IID untuk {year}; tambahkan sebelum pelaporan: {detail}",
    },
    "lifecycle.ended_move": {
        _EN: "the innovation has ended ({outcome}); it cannot move to {target}",
        _ID: "inovasi sudah berakhir ({outcome}); tidak dapat berpindah ke {target}",
    },
    "lifecycle.move_refused": {
        _EN: "cannot move from {current} to {target}; allowed: {allowed}",
        _ID: "tidak dapat berpindah dari {current} ke {target}; yang diizinkan: {allowed}",
    },
    "lifecycle.ended_already": {
        _EN: "the innovation has already ended ({outcome})",
        _ID: "inovasi sudah berakhir ({outcome})",
    },
    "lifecycle.outcome_refused": {
        _EN: "an innovation at {current} cannot be {outcome}; only at: {allowed}",
        _ID: "inovasi pada tahap {current} tidak dapat {outcome}; hanya pada: {allowed}",
    },
    "compliance.reason_required": {
        _EN: "a reason is required to exempt a unit (--reason)",
        _ID: "alasan wajib diisi untuk mengecualikan unit (--reason)",
    },
    "unit.unknown": {
        _EN: "unit {unit!r} does not exist (see `kinanti units list`)",
        _ID: "unit {unit!r} tidak ada (lihat `kinanti units list`)",
    },
    "unit.id_unknown": {
        _EN: "unit id {unit_id} does not exist",
        _ID: "unit dengan id {unit_id} tidak ada",
    },
    # --- files and input (``domain.safe_yaml``, ``domain.schemas``, importers) ---
    "file.malformed": {
        _EN: "{file}: {where}malformed {kind}: {problem}",
        _ID: "{file}: {where}{kind} tidak valid: {problem}",
    },
    "file.too_deep": {
        _EN: "{file}: nested deeper than {limit} levels",
        _ID: "{file}: bersarang lebih dalam dari {limit} tingkat",
    },
    "file.missing": {_EN: "{file}: no such file", _ID: "{file}: berkas tidak ada"},
    "file.too_large": {
        _EN: "{file}: file is {size:,} bytes; at most {limit:,} bytes accepted",
        _ID: "{file}: berkas berukuran {size:,} byte; paling banyak {limit:,} byte diterima",
    },
    "file.grew": {
        _EN: "{file}: file is larger than {limit:,} bytes",
        _ID: "{file}: berkas lebih besar dari {limit:,} byte",
    },
    "file.not_utf8": {
        _EN: "{file}: not UTF-8 text (byte {byte}); save the file as UTF-8",
        _ID: "{file}: bukan teks UTF-8 (byte {byte}); simpan berkas sebagai UTF-8",
    },
    "input.invalid": {
        _EN: "{model}: invalid input",
        _ID: "{model}: masukan tidak valid",
    },
    "file.invalid": {_EN: "{file} is invalid", _ID: "{file} tidak valid"},
    # --- IID catalogue, urusan list and scoring (``domain.iid``) ---
    "urusan.ambiguous": {
        _EN: "urusan.yaml: {spelling!r} names both {first!r} and {second!r}",
        _ID: "urusan.yaml: {spelling!r} menamai {first!r} sekaligus {second!r}",
    },
    "iid.year_differs": {
        _EN: "--year {year} differs from the file's year {file_year}",
        _ID: "--year {year} berbeda dengan tahun pada berkas ({file_year})",
    },
    "iid.year_required": {
        _EN: "give the year with --year or as 'year:' in the file",
        _ID: "berikan tahun dengan --year atau sebagai 'year:' di dalam berkas",
    },
    "iid.level_invalid": {
        _EN: "level must be 1, 2 or 3, not {level}",
        _ID: "tingkat harus 1, 2 atau 3, bukan {level}",
    },
    "iid.indicators_unknown": {
        _EN: "unknown indicators: {indicators}",
        _ID: "indikator tidak dikenal: {indicators}",
    },
    "iid.basis_unknown": {
        _EN: "{indicator} {year}: measurement basis {basis!r} is not one of: {known}",
        _ID: "{indicator} {year}: dasar pengukuran {basis!r} bukan salah satu dari: {known}",
    },
    "iid.aspect_invalid": {
        _EN: "aspect must be 'sid' or 'spd', not {aspect!r}",
        _ID: "aspek harus 'sid' atau 'spd', bukan {aspect!r}",
    },
    "iid.indicator_unknown": {
        _EN: "{aspect} indicator {indicator!r} is not in {year}: {known}",
        _ID: "indikator {aspect} {indicator!r} tidak ada pada {year}: {known}",
    },
    "catalogue.loop": {
        _EN: "IID catalogue {year}: based_on loops ({chain})",
        _ID: "katalog IID {year}: based_on berputar ({chain})",
    },
    "catalogue.unknown_year": {
        _EN: "no IID catalogue for {year}; known years: {years} "
        "(add domain/iid/catalogues/{year}.yaml)",
        _ID: "belum ada katalog IID untuk {year}; tahun yang dikenal: {years} "
        "(tambahkan domain/iid/catalogues/{year}.yaml)",
    },
    "catalogue.not_mapping": {
        _EN: "IID catalogue {year}.yaml must be a mapping",
        _ID: "katalog IID {year}.yaml harus berupa mapping",
    },
    "catalogue.year_differs": {
        _EN: "IID catalogue {year}.yaml says year {said}",
        _ID: "katalog IID {year}.yaml menyebut tahun {said}",
    },
    "klinik.request_invalid": {
        _EN: "invalid public request",
        _ID: "permohonan masyarakat tidak valid",
    },
    "urusan.unknown": {
        _EN: "urusan {value!r} is not a known government affair (UU 23/2014 art. 12){hint}",
        _ID: "urusan {value!r} tidak dikenal (UU 23/2014 pasal 12){hint}",
    },
    # --- backups and the local engine (``kinanti.backup``, ``kinanti.orchestration``) ---
    "backup.bad_manifest": {
        _ID: "manifest.json di {folder} rusak atau formatnya tidak dikenal ({detail}). "
        "Tidak ada yang dipulihkan.",
        _EN: "manifest.json in {folder} is damaged or of an unknown format ({detail}). "
        "Nothing was restored.",
    },
    "backup.folder_not_empty": {
        _ID: "Folder cadangan {folder} tidak kosong; pilih folder baru atau kosong.",
        _EN: "The backup folder {folder} is not empty; choose a new or empty folder.",
    },
    "backup.newer_schema": {
        _ID: "Cadangan ini memakai revisi skema {revision} yang tidak dikenal Kinanti "
        "{version}; pulihkan dengan versi Kinanti yang membuatnya atau yang lebih baru.",
        _EN: "This backup uses schema revision {revision}, unknown to Kinanti "
        "{version}; restore it with the Kinanti version that made it or a newer one.",
    },
    "backup.no_manifest": {
        _ID: "{folder} bukan cadangan lengkap: manifest.json tidak ada (cadangan "
        "terputus?). Tidak ada yang dipulihkan.",
        _EN: "{folder} is not a complete backup: manifest.json is missing (an "
        "interrupted backup?). Nothing was restored.",
    },
    "backup.not_a_file": {
        _ID: "Basis data {url} bukan berkas; tidak dapat dicadangkan.",
        _EN: "The database {url} is not a file; it cannot be backed up.",
    },
    "backup.not_empty": {
        _ID: "Pemulihan hanya ke instalasi kosong, tetapi instalasi ini sudah berisi "
        "data (tabel: {tables}; folder bukti: {evidence}). Siapkan basis data dan folder "
        "bukti yang kosong. Tidak ada yang diubah.",
        _EN: "A restore goes into an empty installation only, but this one holds data "
        "(tables: {tables}; evidence folder: {evidence}). Prepare an empty database and "
        "evidence folder. Nothing was changed.",
    },
    "backup.tampered": {
        _ID: "Cadangan {folder} tidak cocok dengan manifest-nya (berkas hilang, "
        "berubah atau tambahan: {files}). Tidak ada yang dipulihkan.",
        _EN: "The backup {folder} does not match its manifest (missing, changed or "
        "extra files: {files}). Nothing was restored.",
    },
    "backup.tool_failed": {
        _ID: "{tool} gagal: {detail}",
        _EN: "{tool} failed: {detail}",
    },
    "backup.tool_missing": {
        _ID: "Program {tool} tidak ditemukan (PATH atau /usr/lib/postgresql/*/bin); "
        "pasang klien PostgreSQL: `apt-get install -y postgresql-client`.",
        _EN: "{tool} was not found (PATH or /usr/lib/postgresql/*/bin); install the "
        "PostgreSQL client: `apt-get install -y postgresql-client`.",
    },
    "backup.wrong_backend": {
        _ID: "Cadangan ini berisi basis data {found}, sedangkan instalasi ini memakai "
        "{expected}; pulihkan ke instalasi {found}.",
        _EN: "This backup holds a {found} database but this installation uses "
        "{expected}; restore it into a {found} installation.",
    },
    "engine.server_owned": {
        _ID: "`kinanti serve` sudah berjalan untuk folder ini (pid {pid}) dengan "
        "server Prefect di {url}; hentikan dulu sebelum menjalankan yang baru.",
        _EN: "`kinanti serve` is already running for this folder (pid {pid}) with a "
        "Prefect server at {url}; stop it before starting another.",
    },
    "engine.port_taken": {
        _ID: "Port {port} untuk server Prefect dipakai program lain; hentikan program "
        "itu atau pilih port lain dengan KINANTI_PREFECT_PORT (tautan email ikut port ini).",
        _EN: "Port {port} for the Prefect server is taken by another program; stop "
        "it or choose another port with KINANTI_PREFECT_PORT (email links follow this port).",
    },
    "engine.no_api": {
        _EN: "no Prefect API answers{at}; start the engine with `kinanti serve` or set "
        "PREFECT_API_URL",
        _ID: "tidak ada API Prefect yang menjawab{at}; jalankan mesin dengan `kinanti serve` "
        "atau atur PREFECT_API_URL",
    },
    "gate.run_lost": {
        _EN: "the gate's flow run {flow_run} refused the resume: {detail}",
        _ID: "flow run gerbang {flow_run} menolak dilanjutkan: {detail}",
    },
    "gate.reopen_ended": {
        _EN: "{innovation} has ended ({outcome})",
        _ID: "{innovation} sudah berakhir ({outcome})",
    },
    "gate.reopen_none": {
        _EN: "{innovation} has no open gate to reopen",
        _ID: "{innovation} tidak memiliki gerbang terbuka untuk dibuka kembali",
    },
    # --- the CLI, importers, views and reports (``kinanti``) ---
    "cli.decision_invalid": {
        _EN: "decision must be accept or reject, not {decision!r}",
        _ID: "keputusan harus accept atau reject, bukan {decision!r}",
    },
    "cli.code_or_spd": {
        _EN: "give an innovation CODE, or --spd",
        _ID: "berikan KODE inovasi, atau --spd",
    },
    "cli.spd_no_code": {
        _EN: "with --spd give no innovation CODE",
        _ID: "dengan --spd jangan berikan KODE inovasi",
    },
    "cli.target_required": {
        _EN: "give CODE INDICATOR (e.g. PENDEKAR-SERASI sid01), or --spd IND",
        _ID: "berikan KODE INDIKATOR (mis. PENDEKAR-SERASI sid01), atau --spd IND",
    },
    "cli.lang_invalid": {
        _EN: "--lang must be id or en, not {lang!r}",
        _ID: "--lang harus id atau en, bukan {lang!r}",
    },
    "cli.demo_accounts_yes": {
        _EN: "this replaces passwords; run it on a demo city with --yes",
        _ID: "perintah ini mengganti kata sandi; jalankan pada kota demo dengan --yes",
    },
    "file.unreadable": {_EN: "{file}: {detail}", _ID: "{file}: {detail}"},
    "file.not_found": {_EN: "{file}: file not found", _ID: "{file}: berkas tidak ditemukan"},
    "conflict.stale": {
        _EN: "someone else changed the same record at the same time; nothing was saved. "
        "Reload and try again.",
        _ID: "orang lain mengubah data yang sama pada saat yang sama; tidak ada yang disimpan. "
        "Muat ulang lalu coba lagi.",
    },
    "import.problems": {
        _EN: "{file}: {count} {noun}; nothing was written",
        _ID: "{file}: {count} {noun}; tidak ada yang disimpan",
    },
    "import.type_unsupported": {
        _EN: "{file}: unsupported file type {type}; use .yaml, .yml, .json or .csv",
        _ID: "{file}: jenis berkas {type} tidak didukung; gunakan .yaml, .yml, .json atau .csv",
    },
    "import.no_records": {
        _EN: "{file}: no {kind} records found",
        _ID: "{file}: tidak ada data {kind}",
    },
    "import.not_a_list": {
        _EN: "{file}: '{kind}:' must hold a list of records",
        _ID: "{file}: '{kind}:' harus berisi daftar data",
    },
    "import.wrong_kind": {
        _EN: "{file}: expected a list of {kind} or a mapping with the key '{kind}:'; "
        "found '{found}:' (wrong file for this command?)",
        _ID: "{file}: diharapkan daftar {kind} atau mapping dengan kunci '{kind}:'; "
        "ditemukan '{found}:' (berkas yang salah untuk perintah ini?)",
    },
    "import.shape": {
        _EN: "{file}: expected a list of {kind} records or a mapping with the key '{kind}:'",
        _ID: "{file}: diharapkan daftar data {kind} atau mapping dengan kunci '{kind}:'",
    },
    "import.csv_malformed": {
        _EN: "{file}: line {line}: malformed CSV: {detail}",
        _ID: "{file}: baris {line}: CSV tidak valid: {detail}",
    },
    "report.file_unknown": {
        _EN: "no report file {name!r}",
        _ID: "tidak ada berkas laporan {name!r}",
    },
    "stage.unknown": {
        _EN: "unknown stage {stage!r}; allowed: {allowed}",
        _ID: "tahap {stage!r} tidak dikenal; yang diizinkan: {allowed}",
    },
    # what a proposal lacks before the planning gate (``domain.lifecycle.proposal_problems``)
    "proposal.design": {
        _EN: "design narrative (rancang bangun) has {words} words; at least {min} are required",
        _ID: "rancang bangun baru {words} kata; minimal {min} kata",
    },
    "proposal.empty": {_EN: "{name} is empty", _ID: "{name} belum diisi"},
    "proposal.budget": {
        _EN: "required budget (anggaran) is not stated",
        _ID: "kebutuhan anggaran belum dicantumkan",
    },
}

#: Names of the profile fields a proposal must fill (the ``name`` in ``proposal.empty``).
FIELD_NAMES: Mapping[str, Mapping[Language, str]] = {
    "goals": {_EN: "goals (tujuan)", _ID: "tujuan"},
    "benefits": {_EN: "benefits (manfaat)", _ID: "manfaat"},
    "urusan_main": {_EN: "main government affair (urusan)", _ID: "urusan pemerintahan utama"},
    "tematik": {_EN: "theme (tematik)", _ID: "tematik"},
    "title": {_EN: "name", _ID: "nama inovasi"},
}


def words(indonesian: str, english: str) -> dict[Language, str]:
    """A parameter given in both languages (the reader's is taken when rendering)."""
    return {_ID: indonesian, _EN: english}


def _value(value: Any, language: Language) -> Any:
    if isinstance(value, Mapping) and language in value:
        value = value[language]
    if isinstance(value, list | tuple):
        return "; ".join(str(_value(v, language)) for v in value)
    return value


def render(code: str, language: Language, params: Mapping[str, Any]) -> str | None:
    """The message of ``code`` in ``language``, or ``None`` when the table has none."""
    texts = MESSAGES.get(code)
    if texts is None:
        return None
    values = {k: _value(v, language) for k, v in params.items()}
    try:
        return texts[language].format(**values)
    except (KeyError, IndexError):
        return None
