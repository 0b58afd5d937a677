"""How fast is this interpreter's dlib build? Encode time per face, CNN and HOG detection on a 720p photo.

Run it with the Python of each environment to compare builds (source + OpenBLAS, ``dlib-bin``, ...):

    .venv/bin/python benchmarks/bench_dlib.py
    /tmp/venv-dlibbin/bin/python benchmarks/bench_dlib.py

Needs only dlib, numpy, Pillow and face_recognition_models, so that it runs in a bare environment.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def _models() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", default=str(REPO / "sample_images" / "obama-720p.jpg"), help="a 720p photo with a face")
    ap.add_argument("--faces", type=int, default=64, help="faces per encoding batch")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import dlib

    image = np.asarray(Image.open(args.photo).convert("RGB"))
    hog = dlib.get_frontal_face_detector()
    rects = hog(image, 0)
    if not rects:
        raise SystemExit(f"no face found in {args.photo}")
    predictor = dlib.shape_predictor(str(_models() / "shape_predictor_5_face_landmarks.dat"))
    encoder = dlib.face_recognition_model_v1(str(_models() / "dlib_face_recognition_resnet_model_v1.dat"))
    cnn = dlib.cnn_face_detection_model_v1(str(_models() / "mmod_human_face_detector.dat"))
    shapes = dlib.full_object_detections()
    for _ in range(args.faces):
        shapes.append(predictor(image, rects[0]))
    encoder.compute_face_descriptor(image, shapes[0])  # warm up
    enc, det, hog_s = [], [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        encoder.compute_face_descriptor(image, shapes, 1)
        enc.append((time.perf_counter() - t) / args.faces * 1000)
        t = time.perf_counter()
        cnn(image, 0)
        det.append(time.perf_counter() - t)
        t = time.perf_counter()
        hog(image, 1)
        hog_s.append(time.perf_counter() - t)
    result = {
        "dlib": dlib.__version__, "python": sys.executable,
        "blas": bool(getattr(dlib, "DLIB_USE_BLAS", False)), "avx": bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
        "encode_ms_per_face": round(statistics.median(enc), 2),
        "cnn_720p_s": round(statistics.median(det), 3),
        "hog_720p_upsample1_s": round(statistics.median(hog_s), 3),
        "photo": f"{image.shape[1]}x{image.shape[0]}",
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:20} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
