"""IID fidelity (issue 12): urusan as data, published band edges, the 2025 and 2027
catalogues, the count-term explanation, and untrusted YAML refused before validation."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from domain.errors import ValidationError
from domain.iid.catalogue import catalogue_for_year, known_years
from domain.iid.scorefile import load_region_file, score_region_file
from domain.iid.scoring import Band, InnovationLevels, band_of, region_score
from domain.iid.urusan import (
    UnknownUrusanError,
    basic_service_names,
    canonical_urusan,
    normalise,
    urusan_list,
)
from domain.safe_yaml import load_yaml, read_bounded

UU_SPELLING = "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat"

# ---------------------------------------------------------------- urusan


def test_official_list_has_6_basic_18_other_mandatory_and_8_optional_affairs() -> None:
    listing = urusan_list()
    groups = [u.group for u in listing.items]
    assert groups.count("wajib_pelayanan_dasar") == 6
    assert groups.count("wajib_non_pelayanan_dasar") == 18
    assert groups.count("pilihan") == 8
    assert basic_service_names() == (
        "Pendidikan",
        "Kesehatan",
        "Pekerjaan Umum dan Penataan Ruang",
        "Perumahan Rakyat dan Kawasan Permukiman",
        UU_SPELLING,
        "Sosial",
    )


@pytest.mark.parametrize(
    "spelling",
    [
        UU_SPELLING,
        "Ketenteraman, Ketertiban Umum dan Pelindungan Masyarakat",
        "ketenteraman ketertiban umum & pelindungan masyarakat",
        "KETENTERAMAN,KETERTIBAN UMUM,DAN PELINDUNGAN  MASYARAKAT",
        "Ketenteraman/Ketertiban Umum dan Pelindungan Masyarakat",
        "Ketentraman dan Ketertiban Umum serta Perlindungan Masyarakat",
        "Trantibum Linmas",
    ],
)
def test_uu_spelling_and_variants_are_one_affair(spelling: str) -> None:
    assert canonical_urusan(spelling) == UU_SPELLING


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Pekerjaan Umum", "Pekerjaan Umum dan Penataan Ruang"),
        ("Kominfo", "Komunikasi dan Informatika"),
        ("koperasi, usaha kecil & menengah", "Koperasi, Usaha Kecil, dan Menengah"),
        ("Ketahanan Pangan", "Pangan"),
        ("PPPA", "Pemberdayaan Perempuan dan Pelindungan Anak"),
    ],
)
def test_aliases_resolve_to_the_canonical_name(alias: str, canonical: str) -> None:
    assert canonical_urusan(alias) == canonical


def test_normalise_ignores_case_punctuation_spacing_and_dan() -> None:
    assert normalise(" Kelautan  &  Perikanan. ") == normalise("kelautan dan perikanan")


@pytest.mark.parametrize(
    "variant",
    [UU_SPELLING, "Trantibum Linmas", "Ketenteraman/Ketertiban Umum dan Pelindungan Masyarakat"],
)
def test_the_variant_counts_for_the_2026_basic_service_rule(variant: str) -> None:
    """Issue 12: five affairs, one spelled as UU 23/2014 spells it, scored as four."""
    catalogue = catalogue_for_year(2026)
    affairs = ["Pendidikan", "Kesehatan", "Pekerjaan Umum", "Sosial", variant]
    items = [InnovationLevels(f"I{i}", {}, (u,)) for i, u in enumerate(affairs)]
    score = region_score(catalogue, {}, items)
    assert score.count_term == Decimal("0.38") * 5
    assert score.explanation is not None
    assert score.explanation.applies
    assert score.explanation.missing == ("Perumahan Rakyat dan Kawasan Permukiman",)


def test_unknown_urusan_is_refused_with_the_nearest_names_in_the_users_language() -> None:
    with pytest.raises(UnknownUrusanError) as caught:
        canonical_urusan("Kesehtan", "id")
    assert caught.value.suggestions[0] == "Kesehatan"
    assert "tidak dikenal" in str(caught.value) and "Kesehatan" in str(caught.value)
    with pytest.raises(UnknownUrusanError, match="nearest: Kesehatan"):
        canonical_urusan("Kesehtan", "en")


# ---------------------------------------------------------------- bands


EDGES = {
    2023: ("60.01", "35.00"),
    2024: ("60.01", "35.00"),
    2025: ("65.01", "40.01"),
    2026: ("65.01", "40.01"),
    2027: ("65.01", "40.01"),
}


def test_every_catalogued_year_has_its_edges_tested() -> None:
    assert set(EDGES) == set(known_years())


@pytest.mark.parametrize("year", sorted(EDGES))
def test_every_band_edge_of_every_year(year: int) -> None:
    catalogue = catalogue_for_year(year)
    sangat, inovatif = (Decimal(v) for v in EDGES[year])
    cent = Decimal("0.01")
    half = Decimal("0.005")
    assert (catalogue.bands.sangat_inovatif, catalogue.bands.inovatif) == (sangat, inovatif)
    cases = [
        (sangat, Band.SANGAT_INOVATIF),
        (sangat - cent, Band.INOVATIF),
        (sangat - half, Band.SANGAT_INOVATIF),  # rounds half up to the edge
        (sangat - half - Decimal("0.0001"), Band.INOVATIF),
        (inovatif, Band.INOVATIF),
        (inovatif - cent, Band.KURANG_INOVATIF),
        (inovatif - half, Band.INOVATIF),
        (inovatif - half - Decimal("0.0001"), Band.KURANG_INOVATIF),
        (Decimal("0.01"), Band.KURANG_INOVATIF),
        (Decimal("0.004"), Band.TIDAK_DAPAT_DINILAI),
        (Decimal("100"), Band.SANGAT_INOVATIF),
    ]
    for iid, band in cases:
        assert band_of(catalogue, iid, n=1) is band, (year, iid)
    assert band_of(catalogue, Decimal("80"), n=0) is Band.TIDAK_DAPAT_DINILAI


def test_2026_edges_as_published() -> None:
    c = catalogue_for_year(2026)
    assert band_of(c, Decimal("40.00"), 1) is Band.KURANG_INOVATIF
    assert band_of(c, Decimal("40.01"), 1) is Band.INOVATIF
    assert band_of(c, Decimal("65.00"), 1) is Band.INOVATIF
    assert band_of(c, Decimal("65.01"), 1) is Band.SANGAT_INOVATIF
    assert band_of(c, Decimal("71.59"), 1) is Band.SANGAT_INOVATIF


# ---------------------------------------------------------------- 2025 and 2027


def test_2025_catalogue() -> None:
    c = catalogue_for_year(2025)
    assert not c.prognosis
    assert c.bands.sangat_inovatif == Decimal("65.01")
    assert c.bands.inovatif == Decimal("40.01")
    assert c.count_term.min_basic_service_affairs is None
    assert c.implementation_window is not None
    assert c.implementation_window.start == dt.date(2023, 1, 1)
    assert band_of(c, Decimal("60.50"), 1) is Band.INOVATIF  # was Sangat Inovatif in 2024
    assert band_of(catalogue_for_year(2024), Decimal("60.50"), 1) is Band.SANGAT_INOVATIF


def test_2025_disputed_lower_bound_is_one_line_of_data_away() -> None:
    text = (Path(__file__).parents[2] / "domain/iid/catalogues/2025.yaml").read_text()
    assert "  inovatif: 40.01\n  # inovatif: 35.01\n" in text


def test_2027_is_a_prognosis_with_k_14_and_all_six_affairs_required() -> None:
    c = catalogue_for_year(2027)
    assert c.prognosis and c.k == 14
    assert c.count_term.min_basic_service_affairs == 6
    five = [InnovationLevels(f"I{i}", {}, (u,)) for i, u in enumerate(basic_service_names()[:5])]
    assert region_score(c, {}, five).count_term == 0
    assert region_score(catalogue_for_year(2026), {}, five).count_term == Decimal("1.90")
    six = [*five, InnovationLevels("I6", {}, ("Sosial",))]
    score = region_score(c, {}, six)
    assert score.count_term == Decimal("0.38") * 6
    assert score.prognosis and score.as_dict()["prognosis"] is True
    assert score.explanation is not None and score.explanation.empty_seats == 14 - 6


def test_kemanfaatan_bases_2026_have_level_texts_per_basis() -> None:
    c = catalogue_for_year(2026)
    bases = c.bases_of("sid18_kemanfaatan")
    assert len(bases) == 6
    assert c.levels_of("sid18_kemanfaatan", "penerima_manfaat")[0] == "1-200 penerima manfaat"
    with pytest.raises(ValidationError, match="penerima_manfaat"):
        c.basis("sid18_kemanfaatan", "jumlah_like")
    assert catalogue_for_year(2023).bases_of("sid18_kemanfaatan") == {}


# ---------------------------------------------------------------- score file


def _write(tmp_path: Path, text: str, name: str = "region.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


REGION_2026 = """\
year: 2026
region: Kota Contoh
spd: {spd01_visi_misi: 3}
innovations:
  - {code: A, urusan: [Pendidikan], sid: {sid01: 3}}
  - {code: B, urusan: [kesehatan], sid: {sid01: 3}}
  - {code: C, urusan: [Sosial], sid: {sid01: 3}}
  - {code: D, urusan: [Pariwisata, "Perumahan Rakyat & Kawasan Permukiman"], sid: {sid01: 3}}
"""


def test_score_file_stores_canonical_urusan_and_explains_a_zero_count_term(
    tmp_path: Path,
) -> None:
    region = load_region_file(_write(tmp_path, REGION_2026))
    assert region.innovations[1].urusan == ["Kesehatan"]
    result = score_region_file(region)
    e = result.verified.explanation
    assert result.verified.count_term == 0
    assert e is not None and not e.applies and e.required == 5
    assert set(e.missing) == {"Pekerjaan Umum dan Penataan Ruang", UU_SPELLING}
    assert e.empty_seats == 12 - 4


def test_score_file_refuses_an_unknown_urusan_with_suggestions(tmp_path: Path) -> None:
    path = _write(tmp_path, REGION_2026.replace("[kesehatan]", "[Kesehtan]"))
    with pytest.raises(ValidationError) as caught:
        load_region_file(path, "id")
    text = str(caught.value)
    assert "innovations.1.urusan.0: urusan 'Kesehtan' tidak dikenal" in text
    assert "yang terdekat: Kesehatan" in text


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Result]]:
    """Run the CLI in process in a language and terminal width (settings cache reset)."""
    from kinanti.cli import app
    from kinanti.settings import get_settings

    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))

    def invoke(*args: str, lang: str = "id", columns: str = "200") -> Result:
        from kinanti.cli import console

        monkeypatch.setenv("KINANTI_LANGUAGE", lang)
        monkeypatch.setattr(console, "width", int(columns))  # the terminal's width
        get_settings.cache_clear()
        return CliRunner().invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()


def test_cli_iid_score_explains_the_count_term(tmp_path: Path, run: Callable[..., Result]) -> None:
    path = _write(tmp_path, REGION_2026)
    result = run("iid", "score", str(path))
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "JumlahInovasi = 0: hanya 4 dari 6 urusan pelayanan dasar ada; disyaratkan 5" in flat
    assert "belum ada: Pekerjaan Umum dan Penataan Ruang; " + UU_SPELLING in flat
    assert "Kursi kosong: 8 inovasi lagi hingga n mencapai k = 12 (n = 4)" in flat
    result = run("iid", "score", str(path), "--json")
    data = json.loads(result.output)
    explained = data["verified"]["count_term_explained"]
    assert explained["applies"] is False and explained["empty_seats"] == 8
    assert data["prognosis"] is False


def test_cli_marks_the_2027_prognosis(tmp_path: Path, run: Callable[..., Result]) -> None:
    path = _write(tmp_path, REGION_2026.replace("year: 2026", "year: 2027"))
    result = run("iid", "score", str(path), lang="en")
    assert result.exit_code == 0, result.output
    assert "PROGNOSIS: the 2027 catalogue is a forecast" in " ".join(result.output.split())
    data = json.loads(run("iid", "score", str(path), "--json").output)
    assert data["prognosis"] is True and data["verified"]["prognosis"] is True


def test_narrow_terminal_never_splits_an_indicator_code(
    tmp_path: Path, run: Callable[..., Result]
) -> None:
    path = _write(tmp_path, REGION_2026)
    result = run("iid", "score", str(path), columns="34")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 34 for line in lines if "sid" in line), lines
    words = result.output.split()
    for code in ("sid02_sdm,", "sid17_kecepatan,", "sid18_kemanfaatan,", "sid20_kualitas"):
        assert code in words


# ---------------------------------------------------------------- untrusted YAML


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_at_the_first_anchor(tmp_path: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationError, match=r"line 1, column 4: .*anchors \(&a\)"):
        load_region_file(_write(tmp_path, BILLION_LAUGHS))
    assert time.perf_counter() - started < 5  # generous: it is refused before expanding


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: *x\n", "aliases"),
        ("base: &b {x: 1}\nitem: {<<: *b}\n", "anchors"),
        ("[" * 200 + "]" * 200, "nested deeper"),
    ],
)
def test_aliases_anchors_and_deep_nesting_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        load_yaml(text, "x.yaml")


def test_oversize_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "a: 1\n" * 1000)
    with pytest.raises(ValidationError, match="at most 100 bytes"):
        read_bounded(path, max_bytes=100)
    with pytest.raises(ValidationError, match="at most 100 bytes"):
        load_region_file(path, max_bytes=100)
