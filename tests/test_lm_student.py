"""The language-model student: shipped weights, decoding, fine-tuning, populations, checkpoints, LoRA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teachgym.domains.arithmetic_text import ArithmeticTextDomain, single_digit_problem
from teachgym.domains.text import TextItems
from teachgym.errors import ConfigError
from teachgym.lm import TINY_MODEL_DIR, CharCodec, greedy_decode, load_model
from teachgym.seeding import children
from teachgym.students.lm import LMStudent

DOMAIN = ArithmeticTextDomain(num_heldout=2, num_levels=1)


def _student(num_members: int = 1, **options: object) -> LMStudent:
    return LMStudent(DOMAIN.skills, DOMAIN.grade, num_members, **options)


def _batch(pairs: list[tuple[str, str]], rows: int = 1) -> TextItems:
    n = len(pairs)
    items = TextItems.from_lists(
        [0] * n, [0] * n, [0] * n, [q for q, _ in pairs], [a for _, a in pairs], [""] * n
    )
    return items.reshape(rows, n // rows)


def test_the_shipped_model_is_small_and_loads_offline() -> None:
    weights = TINY_MODEL_DIR / "model.safetensors"
    assert weights.stat().st_size < 5_000_000
    model, codec = load_model("tiny-arith")
    assert isinstance(codec, CharCodec)
    assert 500_000 < sum(p.numel() for p in model.parameters()) < 1_500_000


def test_the_shipped_model_knows_single_digit_arithmetic_but_not_the_domain() -> None:
    student = _student()
    rng = np.random.default_rng(0)
    problems = [single_digit_problem(rng) for _ in range(100)]
    answers = student.answer(student.models[0], [q for q, _ in problems])
    single_digit = np.mean([a == t for a, (_, t) in zip(answers, problems, strict=True)])
    assert single_digit > 0.6, f"pre-trained student solves only {single_digit:.2f} of single-digit problems"
    domain = ArithmeticTextDomain(num_heldout=10, num_levels=2)
    student = LMStudent(domain.skills, domain.grade)
    assert student.assess(domain.heldout("validation")).mean[0] < 0.2


@pytest.mark.parametrize("answer", ["46", "-3", "<", "1234567"])
def test_char_codec_round_trips_answers(answer: str) -> None:
    codec = CharCodec()
    assert codec.decode(codec.answer_ids(answer)) == answer
    assert codec.prompt_ids("What?")[0] == codec.bos_id and codec.prompt_ids("What?")[-1] == codec.sep_id


def test_batched_greedy_decoding_equals_decoding_alone() -> None:
    model, codec = load_model("tiny-arith")
    questions = ("What is 3 + 4?", "Which sign goes between 12 and 5: <, > or =?")
    prompts = [codec.prompt_ids(q) for q in questions]
    together = greedy_decode(model, codec, prompts, 6)
    alone = [greedy_decode(model, codec, [p], 6)[0] for p in prompts]
    assert together == alone


def test_fine_tuning_teaches_an_answer() -> None:
    student = _student(num_epochs=6, minibatch_size=8, learning_rate=3e-3)
    student.reset(np.random.SeedSequence(0))
    pair = ("What is 12 + 34?", "46")
    before = student.answer(student.models[0], [pair[0]])[0]
    compute = student.learn(_batch([pair] * 16))
    assert compute == 6 * 16
    assert before != "46" and student.answer(student.models[0], [pair[0]]) == ["46"]


def test_reset_restores_the_pretrained_weights() -> None:
    student = _student()
    student.reset(np.random.SeedSequence(0))
    first = student.attempt(DOMAIN.heldout("validation"))
    student.learn(_batch([("What is 12 + 34?", "46")] * 8))
    student.reset(np.random.SeedSequence(0))
    np.testing.assert_array_equal(student.attempt(DOMAIN.heldout("validation")), first)


def test_a_population_member_trains_as_it_would_alone() -> None:
    rng = np.random.default_rng(1)
    pairs = DOMAIN.generate(np.zeros(12, np.int64), np.zeros(12, np.int64), rng).pairs()
    wrong = [(q, "7") for q, _ in pairs]
    pair_student, single = _student(2), _student(1)
    seed = np.random.SeedSequence(5)
    pair_student.reset(seed)
    single.reset_members(children(seed, 2)[:1])
    pair_student.learn(_batch(pairs + wrong, rows=2))
    single.learn(_batch(pairs))
    for a, b in zip(pair_student.models[0].parameters(), single.models[0].parameters(), strict=True):
        assert torch.equal(a, b)
    answers = pair_student.attempt(DOMAIN.heldout("validation"))
    assert answers.shape == (2, len(DOMAIN.heldout("validation"))) and answers.dtype == object
    assert not np.array_equal(answers[0], answers[1]), "members trained on different data answer alike"


def test_learn_refuses_a_batch_of_the_wrong_shape() -> None:
    with pytest.raises(ConfigError, match=r"shape \(1, 2\); expected \(num_members, M\)"):
        _student(2).learn(_batch([("What is 1 + 1?", "2")] * 2))


def test_an_empty_batch_trains_nothing() -> None:
    student = _student()
    before = [p.clone() for p in student.models[0].parameters()]
    assert student.learn(_batch([])) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, student.models[0].parameters(), strict=True))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"num_epochs": 0}, "num_epochs=0"),
        ({"model": ""}, "model=''"),
        ({"model": "/no/such/model"}, "does not exist"),
        ({"max_answer_tokens": 1000}, "max_answer_tokens=1000"),
    ],
)
def test_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _student(**options)


def _save_tokenizer_checkpoint(folder) -> None:
    """A tiny GPT-2 with a real (character-level) Hugging Face tokenizer, made offline."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {"<pad>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate(CharCodec.characters)}, "\n": 200}
    model = tokenizers.models.WordLevel(vocab, unk_token="<pad>")
    raw = tokenizers.Tokenizer(model)
    raw.pre_tokenizer = tokenizers.pre_tokenizers.Split("", "isolated")
    raw.decoder = tokenizers.decoders.Fuse()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<pad>", eos_token="<eos>"
    )
    config = transformers.GPT2Config(vocab_size=201, n_embd=32, n_layer=1, n_head=2, n_positions=128)
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def test_any_hugging_face_checkpoint_path_fine_tunes(tmp_path) -> None:
    _save_tokenizer_checkpoint(tmp_path)
    student = _student(
        model=str(tmp_path), num_epochs=40, minibatch_size=4, learning_rate=1e-2, max_answer_tokens=4
    )
    student.reset(np.random.SeedSequence(0))
    student.learn(_batch([("What is 12 + 34?", "46")] * 8))
    assert student.answer(student.models[0], ["What is 12 + 34?"]) == ["46"]


def test_lora_trains_only_the_adapters() -> None:
    pytest.importorskip("peft")
    student = _student(lora_rank=2)
    model = student.models[0]
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = {n: p.clone() for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora" in n for n in trainable)
    student.learn(_batch([("What is 12 + 34?", "46")] * 8))
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert any(not torch.equal(p, trainable[n]) for n, p in model.named_parameters() if n in trainable)


@pytest.mark.slow
def test_pretraining_regenerates_the_shipped_weights_bit_for_bit() -> None:
    """About 20 minutes on one core: retrains the tiny model and compares the file's bytes."""
    from teachgym.students import pretrain

    assert pretrain.main(["--check"]) == 0


def test_resetting_the_student_leaves_the_global_torch_rng_alone() -> None:
    student = _student()
    state = torch.random.get_rng_state()
    student.reset(np.random.SeedSequence(1))
    assert torch.equal(torch.random.get_rng_state(), state)


# ------------------------------------------------------------------ rejection-sampling fine-tuning
def _rft(**options: object) -> LMStudent:
    """A one-member RFT student whose samples the domain grades (``DOMAIN.parse``)."""
    return _student(training="rft", truth=DOMAIN.parse, **options)


def _problems(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Single-digit problems the pre-trained student mostly solves, with their true answers."""
    rng = np.random.default_rng(seed)
    return [single_digit_problem(rng) for _ in range(count)]


def _fitted(student: LMStudent, monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, str]]]:
    """What each ``_fit`` call trained on, decoded."""
    calls: list[list[tuple[str, str]]] = []
    fit = student._fit

    def spy(model, optimizer, generator, examples):  # type: ignore[no-untyped-def]
        codec = student.codec
        calls.append([(codec.decode(q), codec.decode(a)) for q, a in examples])
        return fit(model, optimizer, generator, examples)

    monkeypatch.setattr(student, "_fit", spy)
    return calls


def test_rft_trains_on_its_own_correct_answers_never_on_a_wrong_one_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = _problems(8)
    wrong = [(q, a + "1") for q, a in problems]  # a teacher that writes every answer wrong
    student = _rft(rft_samples=4)
    calls = _fitted(student, monkeypatch)
    compute = student.learn(_batch(wrong))
    (trained,) = calls
    truth = dict(problems)
    assert trained, "the pre-trained student answered none of 8 single-digit problems in 4 samples"
    assert all(answer.strip() == truth[prompt] for prompt, answer in trained)  # the true answers only
    assert compute == student.num_epochs * len(trained)


def test_rft_does_not_train_on_what_it_cannot_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    student = _rft(rft_samples=2)
    before = [p.detach().clone() for p in student.models[0].parameters()]
    calls = _fitted(student, monkeypatch)
    # Far beyond a model pre-trained on single digits: it samples no right answer.
    assert student.learn(_batch([("What is 987654 * 123457?", "121932620362078")])) == 0
    assert calls == [[]]
    assert all(torch.equal(a, b) for a, b in zip(before, student.models[0].parameters(), strict=True))


def test_rft_is_deterministic_given_the_seed() -> None:
    batch = _batch(_problems(4, seed=1))
    runs = []
    for _ in range(2):
        student = _rft(rft_samples=4)
        student.reset(np.random.SeedSequence(5))
        student.learn(batch)
        runs.append(torch.cat([p.detach().flatten() for p in student.models[0].parameters()]))
    assert torch.equal(*runs)


def test_a_training_mode_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"training='ppo'"):
        _student(training="ppo")
