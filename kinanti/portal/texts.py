"""The portal's words in Bahasa Indonesia (default) and English, beside ``kinanti.i18n``.

``t(key, lang, **values)``; a missing key raises ``KeyError`` (a test renders every page in
both languages).
"""

from __future__ import annotations

from domain.enums import Language

_PAIRS: dict[str, tuple[str, str]] = {
    # layout and navigation
    "app.name": ("Portal Kinanti", "Kinanti portal"),
    "app.skip": ("Lewati ke isi", "Skip to main content"),
    "app.footer": ("Kinanti · Brida {region}", "Kinanti · Brida {region}"),
    "nav.label": ("Menu", "Menu"),
    "nav.home": ("Beranda", "Home"),
    "nav.innovations": ("Inovasi", "Innovations"),
    "nav.gates": ("Gerbang menunggu", "Gates waiting"),
    "nav.city": ("IID kota", "City IID"),
    "nav.units": ("Unit kerja", "Units"),
    "nav.compliance": ("Kepatuhan", "Compliance"),
    "nav.people": ("Pengguna dan peran", "People and roles"),
    "nav.help": ("Bantuan", "Help"),
    "nav.sign_out": ("Keluar", "Sign out"),
    "page.label": ("Halaman", "Pages"),
    "page.prev": ("Sebelumnya", "Previous"),
    "page.next": ("Berikutnya", "Next"),
    "page.of": ("Halaman {page} dari {pages}", "Page {page} of {pages}"),
    # sign-in
    "auth.sign_in": ("Masuk", "Sign in"),
    "auth.wrong": (
        "Alamat email atau kata sandi salah. Periksa lalu coba lagi.",
        "The email address or password is wrong. Check them and try again.",
    ),
    "auth.throttled": (
        "Terlalu banyak percobaan masuk yang gagal. Tunggu 15 menit lalu coba lagi, atau minta "
        "tautan atur ulang kata sandi.",
        "Too many failed sign-in attempts. Wait 15 minutes and try again, or ask for a "
        "password reset link.",
    ),
    "auth.first_or_forgot": (
        "Pertama kali masuk, atau lupa kata sandi?",
        "Signing in for the first time, or forgot your password?",
    ),
    "auth.link_title": ("Minta tautan masuk", "Ask for a sign-in link"),
    "auth.link_intro": (
        "Masukkan alamat email Anda yang terdaftar di Brida. Kami akan mengirim tautan sekali "
        "pakai untuk membuat kata sandi.",
        "Enter the email address Brida has registered for you. We will send a one-time link "
        "to choose a password.",
    ),
    "auth.send_link": ("Kirim tautan", "Send the link"),
    "auth.link_sent_title": ("Periksa email Anda", "Check your email"),
    "auth.link_sent": (
        "Bila alamat itu terdaftar, tautan sekali pakai sudah dikirim ke sana. Tautan berlaku "
        "24 jam.",
        "If that address is registered, a one-time link has been sent to it. The link works "
        "for 24 hours.",
    ),
    "auth.back_to_sign_in": ("Kembali ke halaman masuk", "Back to sign in"),
    "auth.set_password": ("Buat kata sandi", "Choose a password"),
    "auth.save_password": ("Simpan kata sandi dan masuk", "Save the password and sign in"),
    "auth.link_invalid_title": ("Tautan tidak berlaku", "This link does not work"),
    "auth.link_invalid": (
        "Tautan ini sudah dipakai, sudah kedaluwarsa, atau tidak benar. Minta tautan baru.",
        "This link was used already, has expired, or is not right. Ask for a new one.",
    ),
    "hint.password": ("Minimal 10 karakter.", "At least 10 characters."),
    # refusals
    "refused.title": ("Anda tidak berwenang membuka halaman ini", "You may not open this page"),
    "refused.body": (
        "Halaman atau tindakan ini milik unit kerja atau peran lain. Percobaan ini dicatat. "
        "Hubungi Brida bila Anda merasa seharusnya berwenang.",
        "This page or action belongs to another unit or role. The attempt was recorded. "
        "Contact Brida if you think you should have access.",
    ),
    "csrf.title": ("Formulir kedaluwarsa", "The form has expired"),
    "csrf.body": (
        "Formulir ini tidak membawa tanda keamanan yang benar, jadi tidak ada yang disimpan. "
        "Muat ulang halaman lalu kirim lagi.",
        "This form did not carry the right security token, so nothing was saved. Reload the "
        "page and send it again.",
    ),
    "csrf.again": ("Muat ulang halaman", "Reload the page"),
    "notfound.title": ("Halaman tidak ditemukan", "Page not found"),
    "notfound.body": (
        "Alamat ini tidak ada, atau inovasinya tidak ada. Periksa kode inovasinya.",
        "This address or innovation does not exist. Check the innovation code.",
    ),
    "toolarge.title": ("Berkas terlalu besar", "The file is too large"),
    "toolarge.body": (
        "Berkas bukti paling besar {mb} MB. Perkecil berkasnya atau berikan tautan.",
        "Evidence files can be at most {mb} MB. Make the file smaller or give a link instead.",
    ),
    # home and help
    "home.hello": ("Selamat datang, {name}", "Welcome, {name}"),
    "home.intro": ("Apa yang ingin Anda lakukan?", "What do you want to do?"),
    "home.my_innovations": ("Inovasi unit saya", "My unit's innovations"),
    "home.propose": ("Ajukan proposal inovasi baru", "Propose a new innovation"),
    "home.compliance": ("Kepatuhan tahunan unit saya", "My unit's yearly compliance"),
    "home.inbox": ("Gerbang yang menunggu keputusan", "Gates waiting for a decision"),
    "home.all_innovations": ("Semua inovasi", "All innovations"),
    "home.city": ("IID kota: diklaim dan terverifikasi", "City IID: claimed and verified"),
    "home.city_compliance": ("Kepatuhan semua unit", "Compliance of every unit"),
    "home.escalations": ("Eskalasi", "Escalations"),
    "home.units": ("Daftar unit kerja", "The unit list"),
    "home.people": ("Kelola pengguna dan peran", "Manage people and roles"),
    "help.title": ("Cara memakai portal Kinanti", "How to use the Kinanti portal"),
    "help.body": (
        "Portal ini tempat unit kerja, peninjau Brida dan Kepala Brida menjalankan bagian "
        "masing-masing dalam siklus inovasi daerah.",
        "This portal is where units, Brida's reviewers and the head of Brida do their part in "
        "the regional innovation lifecycle.",
    ),
    "help.step1": (
        "Unit kerja mengajukan proposal, memperbaikinya bila diminta, dan melampirkan bukti "
        "dukung indikator.",
        "Units propose innovations, revise them when asked and attach indicator evidence.",
    ),
    "help.step2": (
        "Peninjau memutus gerbang setiap tahap dan memverifikasi bukti dukung.",
        "Reviewers decide each stage's gate and verify the evidence.",
    ),
    "help.step3": (
        "Kepala Brida memantau IID kota, kepatuhan unit dan eskalasi.",
        "The head of Brida follows the city's IID, units' compliance and escalations.",
    ),
    # innovations
    "inv.list_title": ("Inovasi", "Innovations"),
    "inv.propose": ("Ajukan proposal baru", "Propose a new innovation"),
    "inv.count": ("{n} inovasi", "{n} innovations"),
    "inv.none": ("Belum ada inovasi.", "No innovations yet."),
    "inv.next": ("Berikutnya", "Next"),
    "inv.next_for_you": ("Yang perlu dilakukan berikutnya", "What is needed next"),
    "inv.due": ("Batas waktu: {date}", "Due: {date}"),
    "inv.revise": ("Perbaiki dan ajukan kembali", "Revise and resubmit"),
    "inv.stage_now": ("Tahap sekarang", "Current stage"),
    "inv.timeline": ("Perjalanan tahap", "Stage timeline"),
    "inv.history": ("Riwayat", "History"),
    "inv.gates": ("Gerbang", "Gates"),
    "inv.profile": ("Profil inovasi", "Innovation profile"),
    "inv.problems": ("Kekurangan proposal", "What the proposal lacks"),
    "inv.evidence": ("Bukti dukung indikator", "Indicator evidence"),
    "inv.claims": ("{n} klaim indikator", "{n} indicator claims"),
    "inv.evidence_open": ("Buka bukti dukung", "Open the evidence"),
    "timeline.done": ("selesai", "done"),
    "timeline.current": ("sekarang", "now"),
    "timeline.todo": ("belum", "not yet"),
    "next.revise": (
        "Perbaiki inovasi sesuai alasan peninjau lalu ajukan kembali. Alasan: {reason}",
        "Revise the innovation as the reviewer asked, then resubmit it. Reason: {reason}",
    ),
    "next.gate": (
        "Menunggu keputusan Brida di gerbang tahap {stage}; tidak ada yang perlu Anda lakukan.",
        "Waiting for Brida's decision at the {stage} gate; nothing is needed from you.",
    ),
    "next.ended.rejected": (
        "Inovasi ini ditolak; siklusnya selesai.",
        "This innovation was rejected; its lifecycle has ended.",
    ),
    "next.ended.withdrawn": (
        "Inovasi ini ditarik; siklusnya selesai.",
        "This innovation was withdrawn; its lifecycle has ended.",
    ),
    "next.ended.discontinued": (
        "Inovasi ini dihentikan; siklusnya selesai.",
        "This innovation was discontinued; its lifecycle has ended.",
    ),
    "outcome.rejected": ("ditolak", "rejected"),
    "outcome.withdrawn": ("ditarik", "withdrawn"),
    "outcome.discontinued": ("dihentikan", "discontinued"),
    "gate.status.open": ("menunggu keputusan", "waiting for a decision"),
    "gate.status.approved": ("disetujui", "approved"),
    "gate.status.revise": ("perlu perbaikan", "revision asked"),
    "gate.status.rejected": ("ditolak", "rejected"),
    "gate.status.closed": ("ditutup", "closed"),
    "words.count": ("{n} kata (minimal {min})", "{n} words (at least {min})"),
    # proposal
    "prop.title": ("Proposal inovasi baru", "New innovation proposal"),
    "prop.title_revise": ("Perbaiki dan ajukan kembali", "Revise and resubmit"),
    "prop.reviewer_reason": ("Alasan peninjau", "The reviewer's reason"),
    "prop.continue": ("Lanjut: periksa jawaban", "Continue: check your answers"),
    "prop.resubmit": ("Ajukan kembali kepada Brida", "Resubmit to Brida"),
    "check.title": ("Periksa jawaban Anda", "Check your answers"),
    "check.intro": (
        "Periksa isian sebelum mengajukan. Setelah diajukan, proposal masuk tahap perencanaan "
        "dan ditinjau Brida.",
        "Check the answers before submitting. Once submitted, the proposal enters planning and "
        "Brida reviews it.",
    ),
    "check.problems": (
        "Gerbang perencanaan akan meminta perbaikan untuk hal berikut",
        "The planning gate will ask for these to be fixed",
    ),
    "check.submit": ("Ajukan proposal", "Submit the proposal"),
    "check.change": ("Ubah jawaban", "Change the answers"),
    "field.code": ("Kode inovasi", "Innovation code"),
    "field.unit": ("Unit kerja", "Unit"),
    "field.title": ("Nama inovasi", "Name of the innovation"),
    "field.year": ("Tahun", "Year"),
    "field.initiator": ("Inisiator", "Initiator"),
    "field.initiator_name": ("Nama inisiator", "Initiator's name"),
    "field.jenis": ("Jenis inovasi", "Type"),
    "field.bentuk": ("Bentuk inovasi", "Form"),
    "field.urusan_main": ("Urusan pemerintahan utama", "Main government affair"),
    "field.urusan_other": ("Urusan lain", "Other affairs"),
    "field.tematik": ("Tematik", "Theme"),
    "field.trial_start": ("Mulai uji coba", "Trial start"),
    "field.implementation_start": ("Mulai penerapan", "Implementation start"),
    "field.design": ("Rancang bangun", "Design narrative"),
    "field.design_words": ("Rancang bangun (kata)", "Design narrative (words)"),
    "field.goals": ("Tujuan", "Goals"),
    "field.benefits": ("Manfaat", "Benefits"),
    "field.results": ("Hasil", "Results"),
    "field.budget": ("Anggaran (Rp)", "Budget (Rp)"),
    "field.adopting_act": ("Dasar hukum penerapan", "Adopting act"),
    "field.consultation_requested": (
        "Minta konsultasi di Klinik Kinanti",
        "Ask for a Klinik Kinanti consultation",
    ),
    "field.note": ("Catatan", "Note"),
    "field.email": ("Alamat email", "Email address"),
    "field.password": ("Kata sandi", "Password"),
    "field.new_password": ("Kata sandi baru", "New password"),
    "field.confirm": ("Ulangi kata sandi", "Repeat the password"),
    "field.indicator": ("Indikator", "Indicator"),
    "field.level": ("Tingkat yang diklaim", "Claimed level"),
    "field.file": ("Berkas bukti", "Evidence file"),
    "field.link": ("Atau tautan bukti", "Or a link to the evidence"),
    "field.decision": ("Keputusan", "Decision"),
    "field.reason": ("Alasan", "Reason"),
    "field.language": ("Bahasa", "Language"),
    "field.name": ("Nama", "Name"),
    "field.roles": ("Peran", "Roles"),
    "field.renewal": ("Kebaruan", "Renewal"),
    "hint.code": (
        "Huruf, angka dan tanda hubung, misalnya DINKES-SEHATKU.",
        "Letters, digits and dashes, for example DINKES-SEHATKU.",
    ),
    "hint.urusan_main": (
        "Misalnya Kesehatan atau Pendidikan.",
        "For example Kesehatan or Pendidikan.",
    ),
    "hint.urusan_other": ("Pisahkan dengan koma.", "Separate them with commas."),
    "hint.date": (
        "Format TTTT-BB-HH, misalnya 2026-03-01.",
        "Format YYYY-MM-DD, for example 2026-03-01.",
    ),
    "hint.budget": ("Angka saja, misalnya 25000000.", "Digits only, for example 25000000."),
    "hint.file": (
        "PDF, PNG, JPG atau MP4, paling besar {mb} MB.",
        "PDF, PNG, JPG or MP4, at most {mb} MB.",
    ),
    "hint.link": (
        "Alamat http(s), misalnya video di YouTube.",
        "An http(s) address, for example a video.",
    ),
    "hint.reason": (
        "Wajib untuk perbaikan dan penolakan.",
        "Required to ask for a revision or to reject.",
    ),
    "hint.scorecard": (
        "Wajib untuk menyetujui: lima kriteria PP 38/2017, 1 sampai 5.",
        "Required to approve: the five PP 38/2017 criteria, 1 to 5.",
    ),
    # errors
    "err.summary": ("Ada masalah", "There is a problem"),
    "err.prefix": ("Kesalahan:", "Error:"),
    "err.missing": ("Isi {label}", "Enter {label}"),
    "err.too_long": ("{label} terlalu panjang", "{label} is too long"),
    "err.number": ("{label} harus berupa angka", "{label} must be a number"),
    "err.range": ("{label} di luar batas yang dibolehkan", "{label} is outside the allowed range"),
    "err.date": (
        "{label} harus tanggal yang benar (TTTT-BB-HH)",
        "{label} must be a real date (YYYY-MM-DD)",
    ),
    "err.choose": ("Pilih {label}", "Choose {label}"),
    "err.invalid": ("{label} tidak benar", "{label} is not valid"),
    "err.password_mismatch": ("Kedua kata sandi tidak sama", "The two passwords do not match"),
    "err.reason_required": ("Tuliskan alasannya", "Give the reason"),
    "err.roles": ("Pilih sedikitnya satu peran yang dikenal", "Choose at least one known role"),
    "err.code_taken": (
        "Kode inovasi ini sudah dipakai; pilih kode lain",
        "This innovation code is taken; choose another",
    ),
    "err.file_or_link": (
        "Lampirkan satu berkas atau berikan satu tautan (tidak keduanya)",
        "Attach one file or give one link (not both)",
    ),
    "err.evidence_refused": ("Bukti ditolak: {why}", "The evidence was refused: {why}"),
    "err.refused": ("Ditolak: {why}", "Refused: {why}"),
    "err.decision_refused": (
        "Keputusan ditolak; gerbang tetap menunggu: {why}",
        "The decision was refused; the gate keeps waiting: {why}",
    ),
    "err.scorecard": (
        "Isi kelima nilai scorecard (1 sampai 5) atau kosongkan semuanya",
        "Give all five scorecard values (1 to 5) or none",
    ),
    # evidence
    "ev.title": ("Bukti dukung", "Evidence"),
    "ev.claim": ("Klaim tingkat indikator", "Claim an indicator level"),
    "ev.save": ("Simpan klaim", "Save the claim"),
    "ev.saved": ("Klaim {indicator} tersimpan.", "The claim for {indicator} was saved."),
    "ev.indicators": ("Indikator SID", "SID indicators"),
    "ev.mandatory": ("wajib", "mandatory"),
    "ev.claimed_level": ("Diklaim tingkat {level}", "Claimed level {level}"),
    "ev.verified_level": ("terverifikasi tingkat {level}", "verified level {level}"),
    "ev.evidence": ("Bukti", "Evidence"),
    "ev.note": ("Catatan verifikator", "Verifier's note"),
    "ev.no_claim": ("Belum diklaim", "Not claimed"),
    "ev.accept": ("Terima", "Accept"),
    "ev.reject": ("Tolak", "Reject"),
    "ev.status.pending": ("menunggu verifikasi", "waiting for verification"),
    "ev.status.accepted": ("diterima", "accepted"),
    "ev.status.rejected": ("ditolak", "rejected"),
    # compliance
    "comp.title": ("Kepatuhan tahunan {year}", "Yearly compliance {year}"),
    "comp.what_to_do": ("Yang membuatnya patuh", "What makes it compliant"),
    "comp.hint.compliant": ("Sudah patuh untuk tahun ini.", "Compliant for this year."),
    "comp.hint.on_track": (
        "Bawa inovasi yang sedang berjalan sampai tahap pengembangan sebelum 31 Desember.",
        "Carry an innovation in progress to development before 31 December.",
    ),
    "comp.hint.at_risk": (
        "Ajukan inovasi dan bawa sampai tahap pengembangan sebelum 31 Desember.",
        "Propose an innovation and carry it to development before 31 December.",
    ),
    "comp.hint.non_compliant": (
        "Tahun ini terlewat; unit menjalani evaluasi khusus. Ajukan inovasi untuk tahun depan.",
        "The year was missed; the unit gets a special evaluation. "
        "Propose an innovation for next year.",
    ),
    "comp.hint.exempt": ("Dikecualikan tahun ini.", "Exempt this year."),
    "col.when": ("Waktu", "When"),
    "col.what": ("Apa", "What"),
    "col.who": ("Oleh", "By"),
    "col.reason": ("Alasan", "Reason"),
    "col.stage": ("Tahap", "Stage"),
    "col.status": ("Status", "Status"),
    "col.unit": ("Unit kerja", "Unit"),
    "col.counted": ("Dihitung / berjalan", "Counted / in progress"),
    "col.innovation": ("Inovasi", "Innovation"),
    "col.innovations": ("Inovasi", "Innovations"),
    "col.kind": ("Jenis", "Kind"),
    "col.name": ("Nama", "Name"),
    "col.roles": ("Peran", "Roles"),
    "col.where": ("Di mana", "Where"),
    # reviewers
    "inbox.title": ("Gerbang menunggu keputusan", "Gates waiting for a decision"),
    "inbox.count": ("{n} gerbang, yang terlama di atas", "{n} gates, oldest first"),
    "inbox.empty": ("Tidak ada gerbang yang menunggu Anda.", "No gates are waiting for you."),
    "inbox.opened": ("Dibuka {date}", "Opened {date}"),
    "inbox.due": ("batas {date}", "due {date}"),
    "inbox.escalates": ("eskalasi {date}", "escalates {date}"),
    "gate.title": ("Gerbang {stage}", "{stage} gate"),
    "gate.round": ("putaran {n}", "round {n}"),
    "gate.summary": ("Ringkasan inovasi", "Innovation summary"),
    "gate.checklist": ("Periksa", "Check"),
    "gate.no_evidence": ("Belum ada bukti dukung.", "No evidence yet."),
    "gate.verify_evidence": ("Verifikasi bukti per indikator", "Verify the evidence per indicator"),
    "gate.scorecards": ("Scorecard uji coba", "Trial scorecards"),
    "gate.decide": ("Keputusan Anda", "Your decision"),
    "gate.scorecard": ("Scorecard uji coba", "Trial scorecard"),
    "gate.submit": ("Kirim keputusan", "Send the decision"),
    "gate.assign_to": ("Tugaskan kepada", "Assign to"),
    "assign.title": ("Penerima tugas", "Assignee"),
    "assign.yours": ("Ditugaskan kepada Anda", "Assigned to you"),
    "assign.to": ("Ditugaskan kepada {name}", "Assigned to {name}"),
    "assign.queue": (
        "Belum ditugaskan: menunggu di antrean peran",
        "Unassigned: waiting in the role's queue",
    ),
    "assign.claim": ("Ambil gerbang ini", "Claim this gate"),
    "assign.hand_back": ("Kembalikan ke antrean", "Hand back to the queue"),
    "assign.reassign": ("Tugaskan ulang", "Reassign"),
    "assign.note": ("Catatan (opsional)", "Note (optional)"),
    "assign.history": ("Riwayat penugasan", "Assignment history"),
    "assign.kind.assigned": ("ditugaskan oleh Kinanti", "assigned by Kinanti"),
    "assign.kind.claimed": ("diambil", "claimed"),
    "assign.kind.handed_back": ("dikembalikan ke antrean", "handed back to the queue"),
    "assign.kind.reassigned": ("ditugaskan ulang", "reassigned"),
    "assign.done.claimed": ("Gerbang ini kini ditugaskan kepada Anda.", "The gate is now yours."),
    "assign.done.handed_back": (
        "Gerbang dikembalikan ke antrean peran.",
        "The gate is back in the role's queue.",
    ),
    "assign.done.reassigned": (
        "Gerbang ditugaskan ulang; penerima tugas baru diberi tahu lewat email.",
        "The gate was reassigned; the new assignee is told by email.",
    ),
    "gate.open_page": ("Buka halaman gerbang", "Open the gate page"),
    "decision.approve": ("Setujui", "Approve"),
    "decision.revise": ("Minta perbaikan", "Ask for a revision"),
    "decision.reject": ("Tolak", "Reject"),
    "score.renewal": ("Kebaruan", "Renewal"),
    "score.benefit": ("Bermanfaat", "Benefit"),
    "score.no_burden": ("Tidak membebani", "No extra burden"),
    "score.authority": ("Dalam kewenangan", "Within authority"),
    "score.replicable": ("Dapat direplikasi", "Replicable"),
    # city
    "city.title": ("IID kota {year}", "City IID {year}"),
    "city.verified": ("Terverifikasi", "Verified"),
    "city.claimed": ("Diklaim", "Claimed"),
    "city.innovations": ("Inovasi dihitung (n)", "Innovations counted (n)"),
    "city.k": ("pembagi minimum k = {k}", "minimum divisor k = {k}"),
    "city.seats": ("Kursi kosong", "Empty seats"),
    "city.seats_left": (
        "{n} inovasi lagi sampai n mencapai k = {k}; sampai itu, setiap kursi kosong dihitung nol.",
        "{n} more innovations until n reaches k = {k}; until then each empty seat counts as zero.",
    ),
    "city.seats_full": ("n sudah mencapai k = {k}.", "n has reached k = {k}."),
    "city.affairs": ("Urusan pelayanan dasar", "Basic-service affairs"),
    "city.affairs_missing": (
        "Belum ada inovasi terhitung untuk urusan berikut.",
        "No counted innovation covers these affairs yet.",
    ),
    "city.affairs_needed": (
        "Indeks tahun ini meminta sedikitnya {n}.",
        "This year's index asks for at least {n}.",
    ),
    "city.affairs_all": (
        "Semua urusan pelayanan dasar tercakup.",
        "Every basic-service affair is covered.",
    ),
    "city.gains": ("Yang paling menaikkan IID", "What would raise the IID most"),
    "city.points": ("Poin IID", "IID points"),
    "city.work": ("Perlu perhatian", "Needs attention"),
    "city.escalations": ("{n} gerbang tereskalasi", "{n} escalated gates"),
    "city.open_gates": ("{n} gerbang terbuka", "{n} open gates"),
    "city.report": ("Laporan tahunan", "Yearly report"),
    "city.report_html": ("Laporan (HTML)", "Report (HTML)"),
    "city.report_csv": ("Ekspor inovasi (CSV)", "Innovations export (CSV)"),
    "city.report_xlsx": ("Ekspor inovasi (Excel)", "Innovations export (Excel)"),
    "esc.title": ("Eskalasi", "Escalations"),
    "esc.waiting": ("Menunggu", "Waiting"),
    "esc.days": ("{n} hari", "{n} days"),
    "esc.none": ("Tidak ada gerbang yang tereskalasi.", "No gates are escalated."),
    "units.count": ("{n} unit kerja", "{n} units"),
    "units.inactive": ("nonaktif", "inactive"),
    # consultations
    "nav.consultations": ("Konsultasi", "Consultations"),
    "home.consultations": ("Konsultasi Klinik Kinanti", "Klinik Kinanti consultations"),
    "cons.title": ("Konsultasi Klinik Kinanti", "Klinik Kinanti consultations"),
    "cons.count": ("{n} konsultasi", "{n} consultations"),
    "cons.none": ("Belum ada konsultasi.", "No consultations yet."),
    "cons.status.booked": ("dijadwalkan", "booked"),
    "cons.status.held": ("sudah berlangsung", "held"),
    "cons.status.cancelled": ("dibatalkan", "cancelled"),
    # registry
    "people.count": ("{n} orang", "{n} people"),
    "people.active": ("Aktif", "Active"),
    "people.save": ("Simpan", "Save"),
    "people.send_link": ("Kirim tautan masuk pertama", "Send a first sign-in link"),
    "people.link_sent": ("Tautan masuk sudah dikirim.", "The sign-in link was sent."),
    "role.brida_operator": ("Operator Brida", "Brida operator"),
    "role.head_of_brida": ("Kepala Brida", "Head of Brida"),
    "role.reviewer": ("Peninjau", "Reviewer"),
    "role.innovator": ("Inovator", "Innovator"),
    "role.unit_officer": ("Petugas inovasi unit", "Unit innovation officer"),
    "role.unit_head": ("Kepala unit", "Unit head"),
}

MESSAGES: dict[str, dict[Language, str]] = {
    key: {Language.ID: id_text, Language.EN: en_text} for key, (id_text, en_text) in _PAIRS.items()
}


def t(key: str, lang: Language | str, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``values`` filled in."""
    return MESSAGES[key][Language(lang)].format(**values)
