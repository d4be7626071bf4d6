"""Hostile and foreign ALE files through the import API: a NUL byte, 300,000 columns, Japanese and
Chinese encodings. Each is applied correctly or refused with a message (400), never a 500 or garble."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Clip
from tests.fixtures import World
from tests.metadata.test_ale_command import ale


def post_import(world: World, name: str, data: bytes, **extra: Any) -> Any:
    return world.client("editor").post(
        "/api/ale-imports/",
        {"project": "FILM", "file": SimpleUploadedFile(name, data), **extra},
        format="multipart",
    )


def _apply(world: World, data: bytes) -> Any:
    preview = post_import(world, "day.ale", data)
    if preview.status_code != 200:
        return preview
    return post_import(world, "day.ale", data, apply="true", digest=preview.json()["digest"])


def test_a_nul_byte_is_refused_with_its_line(world: World) -> None:
    data = ale(["Name", "Scene"], [[world.clip.name, "4\x003"]]).encode()
    nul_line = next(n for n, line in enumerate(data.splitlines(), start=1) if b"\x00" in line)
    response = _apply(world, data)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "NUL byte" in error["message"] and error["line"] == nul_line
    assert Clip.objects.get(pk=world.clip.pk).scene == "42"


# The quadratic check took 50 s for 100,000 columns (it would take minutes for 300,000);
# the linear import takes about a second. The timeout is a guard, not a measurement.
@pytest.mark.timeout(120)
def test_a_file_with_300000_columns_is_answered(world: World) -> None:
    columns = ["Name", "Scene", *(f"X{i}" for i in range(300_000))]
    data = ale(columns, [[world.clip.name, "43", *([""] * 300_000)]]).encode()
    refused = post_import(world, "wide.ale", data)
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert "'X0'" in message and "and 299980 more" in message and len(message) < 2000
    response = post_import(world, "wide.ale", data, ignore_unknown_columns="true")
    assert response.status_code == 200
    assert response.json()["matched"][0]["changes"] == {"scene": {"before": "42", "after": "43"}}


JAPANESE = "夜の屋上、カット"  # "rooftop at night, cut": kanji, hiragana, katakana, CJK punctuation


@pytest.mark.parametrize(("codec", "title"), [("cp932", "Shift-JIS (CP932)"), ("euc_jp", "EUC-JP")])
def test_japanese_encodings_are_detected_and_applied_faithfully(world: World, codec: str, title: str) -> None:
    data = ale(["Name", "Scene", "Location"], [[world.clip.name, "43", JAPANESE]]).encode(codec)
    response = _apply(world, data)
    assert response.status_code == 200, response.json()
    assert any(f"decoded the file as {title}" in w["message"] for w in response.json()["warnings"])
    assert Clip.objects.get(pk=world.clip.pk).location == JAPANESE


def test_utf16_is_applied_faithfully(world: World) -> None:
    data = ale(["Name", "Location"], [[world.clip.name, JAPANESE]]).encode("utf-16")
    assert _apply(world, data).status_code == 200
    assert Clip.objects.get(pk=world.clip.pk).location == JAPANESE


def test_gb18030_chinese_is_detected(world: World) -> None:
    chinese = "夜景屋頂場景"  # GBK's extension area: bytes that are not EUC-JP
    data = ale(["Name", "Location"], [[world.clip.name, chinese]]).encode("gb18030")
    response = _apply(world, data)
    assert response.status_code == 200, response.json()
    assert Clip.objects.get(pk=world.clip.pk).location == chinese


def test_text_that_reads_as_two_encodings_is_refused_naming_both(world: World) -> None:
    # Only ideographs, all in GB2312's core, whose bytes are also valid EUC-JP kanji: no way to tell.
    data = ale(["Name", "Location"], [[world.clip.name, "夜景屋顶"]]).encode("gb18030")
    response = _apply(world, data)
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert "could be EUC-JP or GB18030" in message and "re-export it as UTF-8" in message


def test_bytes_that_read_as_no_known_encoding_are_refused_not_garbled(world: World) -> None:
    data = ale(["Name", "Location"], [[world.clip.name, "x"]]).encode().replace(b"\tx", b"\t\x81\xff\x80\x9f")
    response = _apply(world, data)
    assert response.status_code == 400
    assert "is not UTF-8" in response.json()["errors"][0]["message"]
    assert "\x81" not in Clip.objects.get(pk=world.clip.pk).location
