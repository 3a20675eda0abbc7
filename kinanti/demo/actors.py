"""Scripted actors for the demo and the benchmark: a unit officer who supplies what a gate
needs, and a reviewer who decides. They use the same service calls and the same resume path
as people do (``kinanti evidence add``, ``kinanti decide``); nothing here is used by the
engine itself."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from domain import queries, submission
from domain.changes import Committed
from domain.enums import AdoptingAct, GateDecisionKind, Role, Stage
from domain.evidence import EvidenceStore, claim_indicator, verify_claim
from domain.iid.catalogue import catalogue_for_year
from domain.models import Person, PersonRole, Unit
from domain.schemas import ScorecardIn
from kinanti.db import unit_of_work
from kinanti.settings import Settings

FULL_DESIGN_APPENDIX = (
    " Dasar hukum inovasi ini adalah Peraturan Pemerintah Nomor 38 Tahun 2017 tentang Inovasi"
    " Daerah dan Peraturan Menteri Dalam Negeri Nomor 104 Tahun 2018. Permasalahan utama yang"
    " dihadapi adalah layanan yang lambat, data yang tersebar di banyak buku register, dan"
    " warga yang harus datang berkali-kali ke kantor untuk satu urusan. Isu strategisnya adalah"
    " percepatan layanan publik, pengurangan biaya yang ditanggung warga, dan keterpaduan data"
    " antarperangkat daerah. Sebelum inovasi, setiap permohonan dicatat manual dan diteruskan"
    " dari meja ke meja; sesudah inovasi, permohonan diterima sekali, dicatat dalam sistem yang"
    " sama, dipantau tahapannya oleh petugas dan pemohon, dan diselesaikan dengan standar waktu"
    " yang jelas. Keunggulan dan kebaruannya terletak pada penggabungan layanan, pemantauan"
    " terbuka, serta keterlibatan kader kelurahan yang mendampingi warga yang belum terbiasa"
    " dengan layanan daring. Cara kerjanya: warga mengajukan permohonan melalui loket atau"
    " aplikasi, petugas memverifikasi berkas pada hari yang sama, kepala unit menyetujui secara"
    " elektronik, dan hasilnya dikirim kepada warga tanpa perlu kembali ke kantor. Tim pelaksana"
    " menetapkan indikator keberhasilan berupa waktu layanan, jumlah pengaduan yang selesai,"
    " dan kepuasan warga, yang dipantau setiap bulan dan dilaporkan kepada Brida. Pembiayaan"
    " bersumber dari APBD unit pemilik dan tidak menambah beban biaya bagi warga. Inovasi ini"
    " dirancang agar mudah direplikasi oleh perangkat daerah lain karena prosedur, formulir dan"
    " panduan teknisnya disusun terbuka dan dapat diadaptasi sesuai kebutuhan setempat."
)


@dataclass
class Cast:
    """The people the scripted actors act as, read from the registry."""

    reviewers: list[str]
    head: str
    verifier: str
    officers: dict[int, str] = field(default_factory=dict)  # unit id -> officer email

    @classmethod
    def load(cls, engine: Engine) -> Cast:
        with unit_of_work(engine) as session:

            def with_role(role: Role) -> list[str]:
                return list(
                    session.scalars(
                        select(Person.email)
                        .join(PersonRole)
                        .where(PersonRole.role == role, Person.active.is_(True))
                        .order_by(Person.email)
                    )
                )

            reviewers = with_role(Role.REVIEWER)
            heads = with_role(Role.HEAD_OF_BRIDA)
            operators = with_role(Role.BRIDA_OPERATOR)
            officers: dict[int, str] = {}
            for unit in session.scalars(select(Unit)):
                email = session.scalar(
                    select(Person.email)
                    .join(PersonRole)
                    .where(Person.unit_id == unit.id, PersonRole.role == Role.UNIT_OFFICER)
                    .limit(1)
                )
                if email:
                    officers[unit.id] = email
            if not reviewers or not heads:
                raise RuntimeError("the registry needs reviewers and a head of Brida")
            return cls(reviewers, heads[0], (operators or reviewers)[0], officers)

    def decider(self, stage: Stage, rng: random.Random) -> str:
        return self.head if stage is Stage.REPORTING else rng.choice(self.reviewers)


def unit_officer(engine: Engine, cast: Cast, code: str) -> str:
    """The owning unit's officer (or a Brida operator acting for a unit without one)."""
    with unit_of_work(engine) as session:
        innovation = queries.get_innovation(session, code)
        return cast.officers.get(innovation.unit_id, cast.verifier)


def prepare_for_gate(
    engine: Engine, settings: Settings, cast: Cast, code: str, stage: Stage, rng: random.Random
) -> None:
    """As the unit (and Brida's verifier), supply what approving ``stage``'s gate needs."""
    officer = unit_officer(engine, cast, code)
    store = EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)
    with unit_of_work(engine) as session:
        innovation = queries.get_innovation(session, code, for_update=True)
        if stage is Stage.DEPLOYMENT and innovation.adopting_act is None:
            act = rng.choice(list(AdoptingAct))
            innovation.adopting_act = act
            innovation.adopting_act_number = f"{act.value} No. {rng.randint(10, 990)}/2026"
        if stage in (Stage.DEPLOYMENT, Stage.REPORTING):
            catalogue = catalogue_for_year(innovation.year)
            wanted = [i for i in catalogue.sid if i.mandatory]
            if stage is Stage.REPORTING:
                wanted += rng.sample([i for i in catalogue.sid if not i.mandatory], k=8)
            else:
                wanted = wanted[:1]
            for indicator in wanted:
                claim_indicator(
                    session,
                    store,
                    code=code,
                    indicator=indicator.code,
                    level=rng.choice((2, 3, 3)),
                    actor=officer,
                    link=f"https://mataramkota.go.id/inovasi/{code.lower()}/{indicator.code}",
                )
            if stage is Stage.REPORTING:
                session.flush()
                for i, indicator in enumerate(wanted):
                    rejected = i == len(wanted) - 1 and not indicator.mandatory
                    verify_claim(
                        session,
                        code=code,
                        indicator=indicator.code,
                        decision="reject" if rejected else "accept",
                        actor=cast.verifier,
                        reason="Bukti tidak menunjukkan tahun berjalan" if rejected else None,
                    )


def fill_region_spd(
    engine: Engine, settings: Settings, cast: Cast, year: int, rng: random.Random
) -> int:
    """As Brida's operator: claim the region's SPD indicators for ``year`` (with links to the
    evidence) and have them verified; returns how many were claimed."""
    store = EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)
    with unit_of_work(engine) as session:
        catalogue = catalogue_for_year(year)
        for indicator in catalogue.spd:
            claim_indicator(
                session,
                store,
                code=None,
                indicator=indicator.code,
                level=rng.choice((2, 3, 3)),
                actor=cast.verifier,
                year=year,
                link=f"https://brida.mataramkota.go.id/iid/{year}/{indicator.code}",
            )
        session.flush()
        for indicator in catalogue.spd:
            verify_claim(
                session,
                code=None,
                indicator=indicator.code,
                decision="accept",
                actor=cast.head,
                year=year,
            )
        return len(catalogue.spd)


def fix_and_resubmit(engine: Engine, code: str, officer: str) -> Committed:
    """As the unit: complete the design narrative and resubmit; returns what to publish."""
    with unit_of_work(engine) as session:
        innovation = queries.get_innovation(session, code, for_update=True)
        while len((innovation.design or "").split()) < 300:
            innovation.design = (innovation.design or "") + FULL_DESIGN_APPENDIX
        innovation.goals = innovation.goals or "Mempercepat dan mempermudah layanan bagi warga."
        innovation.benefits = innovation.benefits or "Warga terlayani lebih cepat dan murah."
        innovation.tematik = innovation.tematik or "Digitalisasi Layanan Pemerintahan"
        if innovation.budget is None:
            from decimal import Decimal

            innovation.budget = Decimal("15000000")
        result = submission.resubmit(session, innovation, actor=officer, note="Dilengkapi")
        return result.committed(session)


def scorecard(rng: random.Random) -> ScorecardIn:
    return ScorecardIn(
        renewal=rng.randint(3, 5),
        benefit=rng.randint(3, 5),
        no_burden=rng.randint(3, 5),
        authority=rng.randint(4, 5),
        replicable=rng.randint(3, 5),
    )


@dataclass(frozen=True)
class Plan:
    """What the scripted reviewer will do with one innovation."""

    kind: str  # approve | revise | reject
    at: Stage = Stage.PLANNING

    def decision_at(self, stage: Stage, round_: int) -> GateDecisionKind:
        if stage is self.at and self.kind == "reject":
            return GateDecisionKind.REJECT
        if stage is self.at and self.kind == "revise" and round_ == 1:
            return GateDecisionKind.REVISE
        return GateDecisionKind.APPROVE


REASONS = {
    GateDecisionKind.APPROVE: "Memenuhi kriteria; lanjut ke tahap berikutnya.",
    GateDecisionKind.REVISE: "Lengkapi data dasar (baseline) dan target kinerja yang terukur.",
    GateDecisionKind.REJECT: "Tumpang tindih dengan inovasi yang sudah berjalan di unit lain.",
}
