"""Camera settings as fields: labelled on the clip page, filterable on the search page and the API;
the clip's metadata blob is never shown raw."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from catalog.models import Clip
from tests.catalog.search_world import B003, C001, C002, SearchWorld, build_search_world
from tests.fixtures import World


@pytest.fixture
def sw(world: World) -> SearchWorld:
    built = build_search_world(world)
    Clip.objects.filter(pk=built.clip(C001).pk).update(
        iso=800,
        white_balance_k=5600,
        shutter="172.8°",
        iris="T2.3",
        focal_length_mm=Decimal("40.0"),
        sensor_fps=Decimal("48.000"),
        look="ARRI_709_Show.cube",
        extra={
            "sidecar": {
                "camera_make": "ARRI",
                "camera_model": "ALEXA 35",
                "camera_serial": "60123",
                "iso": 800,
            },
            "technical": {"container": "mxf", "created_at": "2026-11-02T09:14:03+00:00"},
            "camera_name": {"vendor": "arri", "roll": 1},
            "extracted_at": "2026-11-02T10:00:00+00:00",
            "cdl": {"asc_sop": "(1.1 1.0 0.9)(0.01 0.0 -0.02)(1.0 1.0 1.05)", "asc_sat": "0.9"},
        },
    )
    Clip.objects.filter(pk=built.clip(C002).pk).update(
        iso=1600, white_balance_k=3200, look="arri_709_show.cube"
    )
    return built


def test_clip_page_shows_camera_settings_with_labels_and_no_raw_metadata(sw: SearchWorld) -> None:
    html = sw.world.client("viewer").get(f"/clips/{sw.clip(C001).pk}/").content.decode()
    section = re.search(r'<section aria-labelledby="camera-h".*?</section>', html, re.S)
    assert section is not None
    pairs = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", section.group(0), re.S))
    text = {k: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", v)).strip() for k, v in pairs.items()}
    assert text == {
        "Camera body": "ARRI ALEXA 35 (serial 60123)",
        "ISO": "800",
        "White balance": "5600 K",
        "Shutter": "172.8°",
        "Iris": "T2.3",
        "Focal length": "40 mm",
        "Sensor FPS": "48 fps (off-speed: plays at 24)",
        "Look / LUT": "ARRI_709_Show.cube",
        "CDL": "slope 1.1 1.0 0.9 · offset 0.01 0.0 -0.02 · power 1.0 1.0 1.05 · saturation 0.9",
    }
    # The blob itself is never shown: no dicts, no ISO timestamps, no internal keys.
    main = html[html.index("<main") :]
    assert "{&#x27;" not in main and "{'" not in main
    assert "extracted_at" not in main and "camera_name" not in main
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", main)


def test_clip_without_camera_settings_shows_dashes(sw: SearchWorld) -> None:
    html = sw.world.client("viewer").get(f"/clips/{sw.clip(B003).pk}/").content.decode()
    assert "<dt>ISO</dt><dd>—</dd>" in html and "<dt>CDL</dt><dd>—</dd>" in html


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"iso": "800"}, [C001]),
        ({"white_balance": "3200"}, [C002]),
        ({"shutter": "172.8°"}, [C001]),
        ({"iris": "t2.3"}, [C001]),
        ({"focal_length": "40"}, [C001]),
        ({"sensor_fps": "48"}, [C001]),
        ({"look": "ARRI_709_SHOW.cube"}, [C001, C002]),
        ({"has_cdl": "true"}, [C001]),
        ({"look": "arri_709_show.cube", "iso": "1600"}, [C002]),
    ],
)
def test_search_filters_on_camera_settings_page_and_api(
    sw: SearchWorld, params: dict[str, str], names: list[str]
) -> None:
    client = sw.world.client("editor")
    html = client.get("/search/", params).content.decode()
    assert re.findall(r'class="clip-link" href="/clips/\d+/">([^<]+)</a>', html) == names
    api = client.get("/api/clips/", params).json()
    assert [c["name"] for c in api["results"]] == names
    # The form shows the setting it searched for.
    for name, value in params.items():
        if name != "has_cdl":
            assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', html), name


def test_api_clip_has_the_settings_as_fields(sw: SearchWorld) -> None:
    row = sw.world.client("editor").get("/api/clips/", {"iso": "800"}).json()["results"][0]
    assert (row["iso"], row["white_balance_k"], row["shutter"], row["iris"]) == (800, 5600, "172.8°", "T2.3")
    assert (row["focal_length_mm"], row["sensor_fps"], row["look"]) == (
        "40.0",
        "48.000",
        "ARRI_709_Show.cube",
    )
    detail = sw.world.client("editor").get(f"/api/clips/{sw.clip(C001).pk}/").json()
    assert {k: detail[k] for k in ("iso", "focal_length_mm", "sensor_fps")} == {
        "iso": 800,
        "focal_length_mm": "40.0",
        "sensor_fps": "48.000",
    }


def test_no_results_hint_names_a_camera_setting(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"iso": "800", "camera": "B"}).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "No clips match with camera B at ISO 800." in text
    assert "Without the ISO filter there are 2 clips" in text
    assert "Without the camera filter there is 1 clip" in text
