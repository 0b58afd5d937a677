"""The demo-class fetcher: real HTTP download with checksums, or a copy from a mirror folder."""
import hashlib
import http.server
import threading
from functools import partial

import pytest

from attendance_core.samples import SampleError, SampleFile, fetch_samples, manifest

from conftest import REPO


def test_manifest_lays_out_five_students_and_the_classroom_photos():
    items = manifest()
    students = {i.target.split("/")[1].split(".")[0] for i in items if i.target.startswith("known_faces/")}
    assert students == {"Alex_Lacamoire", "Joe_Biden", "Kit_Harington", "Barack_Obama", "Rose_Leslie"}
    assert "sample_images/two_people.jpg" in {i.target for i in items}
    assert all(len(i.sha256) == 64 and i.url.startswith("https://") for i in items)


@pytest.fixture
def mirror(demo_class, tmp_path):
    """A mirror folder laid out like ../shared/samples, made from the fetched demo class."""
    root = tmp_path / "mirror"
    for item in manifest()[:4]:
        dest = root / item.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((demo_class / item.target).read_bytes())
    return root


def test_copy_from_mirror_verifies_checksums(mirror, tmp_path):
    items = manifest()[:4]
    files = fetch_samples(tmp_path / "class", mirror, log=lambda _: None, items=items)
    assert len(files) == 4
    for item, path in zip(items, files):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item.sha256


def test_tampered_file_is_refused_and_the_others_still_fetched(mirror, tmp_path):
    items = manifest()[:4]
    (mirror / items[1].file).write_bytes(b"not the real photo")
    with pytest.raises(SampleError) as info:
        fetch_samples(tmp_path / "class", mirror, log=lambda _: None, items=items)
    assert "checksum mismatch" in str(info.value) and items[1].target in str(info.value)
    assert not (tmp_path / "class" / items[1].target).exists()
    assert (tmp_path / "class" / items[2].target).is_file()


def test_download_over_http_with_checksum(mirror, tmp_path):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        items = [SampleFile(i.target, i.file, base + i.file, i.sha256) for i in manifest()[:3]]
        items.append(SampleFile("sample_images/missing.jpg", "x", base + "no/such/file.jpg", "0" * 64))
        with pytest.raises(SampleError, match="missing.jpg: download failed"):
            fetch_samples(tmp_path / "class", log=lambda _: None, items=items)
        assert all((tmp_path / "class" / i.target).is_file() for i in items[:3])
    finally:
        server.shutdown()


def test_demo_photos_are_git_ignored():
    ignore = (REPO / ".gitignore").read_text()
    assert "known_faces/*" in ignore and "sample_images/*" in ignore
