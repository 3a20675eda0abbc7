"""Enumerations of the domain. Stored by value (``'planning'``), loaded back as the enum."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Lifecycle stage of an innovation (ours; see ``NATIONAL_STAGE`` for the ministry's)."""

    PLANNING = "planning"
    DEVELOPMENT = "development"
    DEPLOYMENT = "deployment"
    REPORTING = "reporting"
    REPLICATION = "replication"


class Outcome(StrEnum):
    """Terminal outcome beside the stages; an innovation with an outcome no longer moves."""

    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DISCONTINUED = "discontinued"


class NationalStage(StrEnum):
    """The ministry's "tahapan" reported for an innovation."""

    INISIATIF = "inisiatif"
    UJI_COBA = "uji coba"
    PENERAPAN = "penerapan"


NATIONAL_STAGE: dict[Stage, NationalStage] = {
    Stage.PLANNING: NationalStage.INISIATIF,
    Stage.DEVELOPMENT: NationalStage.UJI_COBA,
    Stage.DEPLOYMENT: NationalStage.PENERAPAN,
    Stage.REPORTING: NationalStage.PENERAPAN,
    Stage.REPLICATION: NationalStage.PENERAPAN,
}


class UnitKind(StrEnum):
    OPD = "opd"
    UPTD = "uptd"


class Language(StrEnum):
    ID = "id"
    EN = "en"


class Role(StrEnum):
    """What a person may do. A person may hold several roles."""

    BRIDA_OPERATOR = "brida_operator"
    HEAD_OF_BRIDA = "head_of_brida"
    REVIEWER = "reviewer"
    INNOVATOR = "innovator"
    UNIT_OFFICER = "unit_officer"
    UNIT_HEAD = "unit_head"


class Initiator(StrEnum):
    KEPALA_DAERAH = "Kepala Daerah"
    ANGGOTA_DPRD = "Anggota DPRD"
    OPD = "OPD"
    ASN = "ASN"
    MASYARAKAT = "Masyarakat"


class Jenis(StrEnum):
    DIGITAL = "Digital"
    NON_DIGITAL = "Non Digital"


class Bentuk(StrEnum):
    TATA_KELOLA = "Inovasi Tata Kelola Pemerintahan Daerah"
    PELAYANAN_PUBLIK = "Inovasi Pelayanan Publik"
    LAINNYA = "Inovasi Daerah lainnya sesuai Urusan Pemerintahan"


class AdoptingAct(StrEnum):
    """The act that adopts an implemented innovation (SK / Perkada / Perda)."""

    SK = "SK"
    PERKADA = "Perkada"
    PERDA = "Perda"


class GateDecisionKind(StrEnum):
    APPROVE = "approve"
    REVISE = "revise"
    REJECT = "reject"


class GateStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REVISE = "revise"
    REJECTED = "rejected"
    CLOSED = "closed"  # closed without a decision (innovation withdrawn)


class GateAssignment(StrEnum):
    """How an opened gate finds its reviewer (setting ``KINANTI_GATE_ASSIGNMENT``)."""

    LEAST_LOADED = "least-loaded"  # one assignee: the eligible reviewer with fewest open gates
    ROLE_QUEUE = "role-queue"  # no assignee: the gate waits in the role's queue to be claimed


class AssignmentKind(StrEnum):
    """What changed a gate's assignee (``gate_assignments.kind``)."""

    ASSIGNED = "assigned"  # by Kinanti when the gate opened
    CLAIMED = "claimed"  # a reviewer took an unassigned gate
    HANDED_BACK = "handed_back"  # the assignee gave it back to the role's queue
    REASSIGNED = "reassigned"  # a Brida operator chose the assignee


class VerificationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class StageStartStatus(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    DONE = "done"


class ComplianceStatus(StrEnum):
    COMPLIANT = "compliant"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    NON_COMPLIANT = "non_compliant"
    EXEMPT = "exempt"


class ConsultationStatus(StrEnum):
    BOOKED = "booked"
    HELD = "held"
    CANCELLED = "cancelled"


class AttendeeRole(StrEnum):
    """In which capacity a person attends a Klinik Kinanti consultation."""

    BRIDA = "brida"  # Brida staff (operator, reviewer, head of Brida)
    INNOVATOR = "innovator"  # a member of the Perhimpunan Inovator Daerah
    UNIT = "unit"  # an officer or head of the consulting unit


class FollowUpStatus(StrEnum):
    """A follow-up is open until its owner marks it done, or it is closed without doing."""

    OPEN = "open"
    DONE = "done"
    CLOSED = "closed"


class PublicRequestKind(StrEnum):
    """What a citizen or community asks through the public Klinik Kinanti form."""

    CONSULTATION = "consultation"
    IDEA = "idea"


class PublicRequestStatus(StrEnum):
    NEW = "new"  # waiting for a Brida operator to triage it
    PROPOSED = "proposed"  # turned into a proposal owned by a unit (initiator Masyarakat)
    CLOSED = "closed"  # closed with a reply to the citizen


class AdoptionModel(StrEnum):
    """How an adopter replicates (replication in practice)."""

    MANDIRI = "mandiri"  # on its own, from the published material
    KERJA_SAMA = "kerja_sama"  # an agreement: Nota Kesepakatan, then a PKS
    FASILITASI = "fasilitasi"  # Klinik Kinanti facilitates


class ReplicationStage(StrEnum):
    """The replication stages (LAN 2017)."""

    PERSIAPAN = "persiapan"
    PERENCANAAN_PENGEMBANGAN = "perencanaan_pengembangan"
    REPLIKASI = "replikasi"
    EVALUASI = "evaluasi"


class AdoptionStatus(StrEnum):
    INTERESTED = "interested"  # the request letter is in; Brida decides
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"  # evaluasi done, with evidence
