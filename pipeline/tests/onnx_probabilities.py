"""onnxruntime on an ONNX model `ser export` wrote, for the parity test
(pipeline/tests/it/onnx.rs).

Usage: python3 onnx_probabilities.py MODEL.onnx CLIP.f32...
Each CLIP.f32 holds one clip's raw MFCCs, frames x 40 little-endian
float32. Clips of the same length run as one batch. Prints one JSON object:
{"probabilities": [[...] per clip, in argument order], "classes": [...]}.
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main(model, paths):
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    clips = [np.fromfile(p, dtype="<f4").reshape(-1, 40) for p in paths]
    out = [None] * len(clips)
    for frames in sorted({len(c) for c in clips}):
        idx = [i for i, c in enumerate(clips) if len(c) == frames]
        batch = np.stack([clips[i] for i in idx])  # [batch, frames, 40]
        (p,) = session.run(["probabilities"], {"mfcc": batch})
        for i, row in zip(idx, p):
            out[i] = [float(v) for v in row]
    meta = session.get_modelmeta().custom_metadata_map
    print(json.dumps({"probabilities": out, "classes": json.loads(meta["classes"])}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
