"""Pre-train the shipped tiny LM student on single-digit arithmetic (regenerates its weights file).

    python -m teachgym.students.pretrain            # writes teachgym/students/weights/tiny-arith-gpt2/
    python -m teachgym.students.pretrain --check    # retrains in a temporary folder, compares the bytes

The run is deterministic (fixed seed, one thread, deterministic torch algorithms), so the same
torch version on the same kind of CPU regenerates the file bit for bit; ``--check`` says whether it
did. Training data: :func:`~teachgym.domains.arithmetic_text.single_digit_problem`, below every
level of the ``arithmetic-text`` domain, so no held-out problem is ever seen in pre-training.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from teachgym.domains.arithmetic_text import single_digit_problem
from teachgym.lm import TINY_MODEL_DIR, CharCodec, require_transformers

#: The architecture: GPT-2 with 4 layers of width 128 and 4 heads, no dropout (0.8 M parameters).
ARCHITECTURE: dict[str, Any] = {"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 256}
SEED = 0
STEPS = 2000
BATCH = 64
LEARNING_RATE = 2e-3


def pretrain(out: Path, steps: int = STEPS, log_every: int = 500) -> None:
    """Train the tiny model from scratch for ``steps`` AdamW updates and save it to ``out``."""
    require_transformers("pre-training the tiny LM student")
    import transformers

    from teachgym.students.lm import _answer_loss

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    codec = CharCodec()
    config = transformers.GPT2Config(
        vocab_size=codec.vocab_size,
        bos_token_id=codec.bos_id,
        eos_token_id=codec.eos_id,
        pad_token_id=codec.pad_id,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        **ARCHITECTURE,
    )
    model = transformers.GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: min(1.0, (t + 1) / 100) * (1 - t / steps)
    )
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    for step in range(steps):
        problems = [single_digit_problem(rng) for _ in range(BATCH)]
        chunk = [(codec.prompt_ids(q), codec.answer_ids(a)) for q, a in problems]
        optimizer.zero_grad(set_to_none=True)
        loss = _answer_loss(model, codec, chunk)
        loss.backward()
        optimizer.step()
        schedule.step()
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}/{steps}  loss {loss.item():.4f}  {time.perf_counter() - start:.0f} s")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=TINY_MODEL_DIR, help="folder to write (default: the shipped one)"
    )
    parser.add_argument("--steps", type=int, default=STEPS, help=f"AdamW updates (default {STEPS})")
    parser.add_argument("--check", action="store_true", help="retrain elsewhere and compare with --out")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.check:
        pretrain(args.out, args.steps)
        print(f"wrote {args.out / 'model.safetensors'}  sha256 {_digest(args.out)}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        pretrain(Path(scratch), args.steps)
        same = filecmp.cmp(Path(scratch) / "model.safetensors", args.out / "model.safetensors", shallow=False)
        print(f"shipped {_digest(args.out)}\nretrained {_digest(Path(scratch))}\nidentical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
