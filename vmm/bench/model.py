"""`vmm bench model`: training step, decoding speed and decoding memory of VMMModel, against peers.

Same machine, same run, runs interleaved (ours, peer, ours, peer, ...) so that load on a shared
machine hits every model alike; medians are reported, with ratios.

1. Training step (forward + backward; batch 2, 1,024 tokens, d_model 256, 4 layers): VMMModel
   ("MMMA", with its conditions) against transformers' Mamba2ForCausalLM and GPT2LMHeadModel of the
   same width and depth, built from configs with random weights. Goal: faster than both.
2. Decoding, ms per token at contexts of 256, 2k, 8k and 16k tokens: VMMModel (real prefill, then
   `step` with the Mamba states and the attention ring buffer) against GPT-2 with its KV cache
   (a DynamicCache holding random keys/values of the context length: per-token cost depends only on
   its length, and a real 16k-token GPT-2 prefill would take minutes here). Goals: flat (16k within
   1.1x of 256), at least 4x faster than GPT-2 at 16k, below 2 ms per token.
3. Memory: resident-set growth while decoding 16k tokens against 1k tokens. Goal: within 1.1x.
4. With CUDA: the mamba_ssm kernel path against the PyTorch path (training tokens/s, ms per token).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from symbolic.files import atomic_output
from vmm.allocator import keep_freed_memory
from vmm.errors import VMMError
from vmm.model import Conditions, VMMConfig, VMMModel

NAME = "model"
HELP = "training step, ms/token at 256..16k context and decoding memory of the model, vs GPT-2 and Mamba2"

D_MODEL, N_LAYERS, N_HEADS = 256, 4, 4
PARTS = ("train", "generate", "memory", "gpu")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="small settings: 256-token training step, contexts 256 and 2k, memory 256 vs 2k")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)} (default: all; gpu only with CUDA)")
    parser.add_argument("--vocab", type=int, default=600, help="vocabulary size (default 600, about REMI's)")
    parser.add_argument("--train-lengths", default=None,
                        help="tokens per training sequence, comma-separated (default 1024,4096: the goal is at 1024, "
                             "4096 shows how the costs scale)")
    parser.add_argument("--batch", type=int, default=2, help="training batch size (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed training steps per model (default 3)")
    parser.add_argument("--contexts", default=None, help="decoding contexts (default 256,2048,8192,16384)")
    parser.add_argument("--steps", type=int, default=64, help="timed decoding steps per context (default 64)")
    parser.add_argument("--memory-tokens", default=None, help="two token counts to decode (default 1024,16384)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every model (default 1: stable on a shared machine; "
                             "0 = PyTorch's default)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    keep_freed_memory()  # as `vmm fit` does; a process setting, so the peers run with it too
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        results = _run(args, settings)
    finally:
        torch.set_num_threads(threads)  # `vmm bench all` runs other benchmarks in this process
    if args.json:
        with atomic_output(args.json) as tmp:
            Path(tmp).write_text(json.dumps(results, indent=2))
        print(f"results written to {args.json}")
    return 0


def _run(args: argparse.Namespace, settings: dict) -> dict:
    logging.getLogger("transformers").setLevel(logging.ERROR)
    results: dict = {"settings": settings, "threads": torch.get_num_threads()}
    print(f"VMMModel d_model {D_MODEL}, {N_LAYERS} layers \"MMMA\", vocab {args.vocab}; "
          f"{torch.get_num_threads()} torch thread(s), CPU")
    if "train" in settings["parts"]:
        results["train"] = {length: bench_training(args.vocab, length, args.batch, args.repeats)
                            for length in settings["train_lengths"]}
    if "generate" in settings["parts"]:
        results["generate"] = bench_decoding(args.vocab, settings["contexts"], args.steps)
    if "memory" in settings["parts"]:
        results["memory"] = bench_memory(args.vocab, settings["memory_tokens"])
    if "gpu" in settings["parts"] and torch.cuda.is_available():
        results["gpu"] = bench_gpu(args.vocab, settings["train_lengths"][0], args.batch, args.repeats, args.steps)
    return results


def _settings(args: argparse.Namespace) -> dict:
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    try:
        contexts = _ints(args.contexts) if args.contexts else ([256, 2048] if args.quick else [256, 2048, 8192, 16384])
        memory = _ints(args.memory_tokens) if args.memory_tokens else ([256, 2048] if args.quick else [1024, 16384])
        lengths = _ints(args.train_lengths) if args.train_lengths else ([256] if args.quick else [1024, 4096])
    except ValueError:
        contexts, memory, lengths = [], [], []
    if unknown or not contexts or not lengths or len(memory) != 2 or min(contexts + memory + lengths) < 2 \
            or args.steps < 1 or args.repeats < 1 or args.batch < 1 or args.vocab < 2 or args.threads < 0:
        raise VMMError(f"bad benchmark settings (unknown parts: {unknown or 'none'}): parts are {','.join(PARTS)}; "
                       "lengths/contexts are comma-separated integers >= 2; --memory-tokens takes two; "
                       "--steps, --repeats, --batch are positive, --vocab >= 2, --threads >= 0")
    return {"parts": parts, "train_lengths": lengths, "contexts": contexts, "memory_tokens": memory}


def _ints(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


# ----------------------------------------------------------------------------------------------- models


def build_ours(vocab: int, device="cpu", kernel: str = "auto") -> VMMModel:
    torch.manual_seed(0)
    return VMMModel(VMMConfig(vocab_size=vocab, d_model=D_MODEL, layer_pattern="MMMA", kernel=kernel)).to(device)


def build_gpt2(vocab: int, positions: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab, n_embd=D_MODEL, n_layer=N_LAYERS, n_head=N_HEADS, n_positions=positions,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config)


def build_mamba2(vocab: int):
    from transformers import Mamba2Config, Mamba2ForCausalLM

    config = Mamba2Config(vocab_size=vocab, hidden_size=D_MODEL, num_hidden_layers=N_LAYERS, state_size=16,
                          expand=2, head_dim=64, num_heads=2 * D_MODEL // 64, n_groups=1,
                          pad_token_id=0, bos_token_id=0, eos_token_id=0)
    return Mamba2ForCausalLM(config)


TOKENS_PER_BEAT = 24  # POP909's average


def _conditions(batch: int, length: int, device="cpu") -> Conditions:
    """Random controls and chords that change once per beat, as real ones do."""
    generator = torch.Generator().manual_seed(1)
    beat = torch.arange(length) // TOKENS_PER_BEAT
    beats = int(beat[-1]) + 1
    return Conditions(video=torch.rand(batch, beats, 4, generator=generator)[:, beat],
                      chords=torch.randint(0, 100, (batch, beats), generator=generator)[:, beat],
                      key=torch.zeros(batch, dtype=torch.long)).to(device)


def _params(model) -> str:
    return f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M"


# --------------------------------------------------------------------------------------------- training


def bench_training(vocab: int, length: int, batch: int, repeats: int) -> dict:
    """Median seconds of one forward + backward per model, runs interleaved."""
    tokens = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(0))
    conditions = _conditions(batch, length)
    ours, gpt2, mamba2 = build_ours(vocab, kernel="torch"), build_gpt2(vocab, length), build_mamba2(vocab)

    targets = F.pad(tokens[:, 1:], (0, 1), value=-100)  # next tokens, the last one ignored: as the peers' loss

    def ours_step():
        F.cross_entropy(ours(tokens, conditions).flatten(0, 1), targets.flatten()).backward()

    def hf_step(model):
        return lambda: model(input_ids=tokens, labels=tokens).loss.backward()

    runners = {"vmm": (ours, ours_step), "mamba2": (mamba2, hf_step(mamba2)), "gpt2": (gpt2, hf_step(gpt2))}
    print(f"\n[1] training step: forward + backward, batch {batch} x {length} tokens (median of {repeats})")
    times = _interleaved({name: step for name, (_, step) in runners.items()}, repeats, [m for m, _ in runners.values()])
    for name, (model, _) in runners.items():
        print(f"  {name:8s} {times[name]:7.3f} s   ({_params(model)} parameters)")
    ratios = {peer: times[peer] / times["vmm"] for peer in ("mamba2", "gpt2")}
    print(f"  speed-up: {ratios['mamba2']:.2f}x vs Mamba2, {ratios['gpt2']:.2f}x vs GPT-2  "
          f"(goal > 1: {'met' if min(ratios.values()) > 1 else 'NOT met'})")
    return {"seconds": times, "speedup": ratios}


def _interleaved(steps: dict[str, Callable[[], None]], repeats: int, models: list) -> dict[str, float]:
    for model in models:
        model.train()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(repeats + 1):  # round 0 warms up
        for name, step in steps.items():
            for model in models:
                model.zero_grad(set_to_none=True)
            started = time.perf_counter()
            step()
            if round_:
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


# --------------------------------------------------------------------------------------------- decoding


@torch.inference_mode()
def ours_ms_per_token(model: VMMModel, context: int, steps: int, vocab: int) -> float:
    """Prefill `context` tokens (with conditions), then time `steps` decoding steps."""
    conditions = _conditions(1, context + steps)
    tokens = torch.randint(0, vocab, (1, context), generator=torch.Generator().manual_seed(2))
    cache = model.allocate_inference_cache(1)
    prefix = Conditions(video=conditions.video[:, :context], chords=conditions.chords[:, :context], key=conditions.key)
    token = model(tokens, prefix, cache=cache)[:, -1].argmax(-1)
    started = time.perf_counter()
    for t in range(context, context + steps):
        token = model.step(token, conditions.at(t), cache).argmax(-1)
    return (time.perf_counter() - started) / steps * 1e3


@torch.inference_mode()
def gpt2_ms_per_token(model, context: int, steps: int, vocab: int) -> float:
    """GPT-2 with a DynamicCache of `context` random keys/values, then `steps` cached decoding steps."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    generator = torch.Generator().manual_seed(3)
    shape = (1, N_HEADS, context, D_MODEL // N_HEADS)
    for layer in range(N_LAYERS):
        cache.update(torch.randn(shape, generator=generator), torch.randn(shape, generator=generator), layer)
    token = torch.randint(0, vocab, (1, 1), generator=generator)
    started = time.perf_counter()
    for _ in range(steps):
        out = model(input_ids=token, past_key_values=cache, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
    return (time.perf_counter() - started) / steps * 1e3


def bench_decoding(vocab: int, contexts: list[int], steps: int) -> dict:
    ours = build_ours(vocab).eval()
    gpt2 = build_gpt2(vocab, max(contexts) + steps + 1).eval()
    print(f"\n[2] decoding ms/token after a context of N tokens (batch 1, {steps} steps; best of 2 interleaved rounds)")
    ours_ms_per_token(ours, 16, 8, vocab)  # warm-up
    gpt2_ms_per_token(gpt2, 16, 8, vocab)
    samples: dict[int, dict[str, list[float]]] = {c: {"vmm": [], "gpt2": []} for c in contexts}
    for _ in range(2):
        for context in contexts:
            samples[context]["vmm"].append(ours_ms_per_token(ours, context, steps, vocab))
            samples[context]["gpt2"].append(gpt2_ms_per_token(gpt2, context, steps, vocab))
    rows = {}
    for context, times in samples.items():
        ms_ours, ms_gpt2 = min(times["vmm"]), min(times["gpt2"])
        rows[context] = {"vmm": ms_ours, "gpt2": ms_gpt2, "speedup": ms_gpt2 / ms_ours}
        print(f"  {context:6d}   vmm {ms_ours:6.2f} ms   gpt2 {ms_gpt2:6.2f} ms   {ms_gpt2 / ms_ours:5.1f}x")
    first, last = rows[contexts[0]], rows[contexts[-1]]
    growth = last["vmm"] / first["vmm"]
    print(f"  vmm {contexts[-1]} vs {contexts[0]}: {growth:.2f}x (goal <= 1.1: {'met' if growth <= 1.1 else 'NOT met'}); "
          f"gpt2 {last['gpt2'] / first['gpt2']:.2f}x")
    print(f"  vs GPT-2 at {contexts[-1]}: {last['speedup']:.1f}x (goal >= 4: {'met' if last['speedup'] >= 4 else 'NOT met'}); "
          f"vmm worst {max(r['vmm'] for r in rows.values()):.2f} ms/token (goal < 2)")
    return {"ms_per_token": rows, "growth": growth}


# ----------------------------------------------------------------------------------------------- memory


def _rss_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current RSS
        return True
    except OSError:
        return False


@torch.inference_mode()
def _decode(model: VMMModel, n_tokens: int, vocab: int) -> None:
    cache = model.allocate_inference_cache(1)
    step_conditions = _conditions(1, 1)
    out = torch.empty(n_tokens, dtype=torch.long)
    token = torch.zeros(1, dtype=torch.long)
    for t in range(n_tokens):
        token = model.step(token, step_conditions, cache).argmax(-1)
        out[t] = token[0]


def bench_memory(vocab: int, counts: list[int]) -> dict:
    """Peak resident-set growth (VmHWM - VmRSS before) while decoding each count of tokens."""
    model = build_ours(vocab).eval()
    _decode(model, 64, vocab)  # warm-up: one-time allocations are not the decoder's growth
    print("\n[3] memory: peak RSS growth while decoding (batch 1, from an empty cache)")
    if _rss_kib("VmHWM") is None or not _reset_peak():
        print("  skipped: needs Linux's /proc/self/status and clear_refs")
        return {}
    growth, seconds = {}, {}
    for count in counts:
        gc.collect()
        before = _rss_kib("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        _decode(model, count, vocab)
        seconds[count] = time.perf_counter() - started
        growth[count] = (_rss_kib("VmHWM") - before) / 1024
        print(f"  {count:6d} tokens: +{growth[count]:.2f} MiB peak RSS ({seconds[count]:.1f} s, "
              f"{seconds[count] / count * 1e3:.2f} ms/token)")
    small, large = counts
    # RSS moves in pages and allocator arenas: a floor of 1 MiB keeps the ratio meaningful.
    ratio = max(growth[large], 1.0) / max(growth[small], 1.0)
    print(f"  {large} vs {small} tokens: {ratio:.2f}x (goal <= 1.1: {'met' if ratio <= 1.1 else 'NOT met'}); "
          f"a GPT-2 KV cache of this size would hold "
          f"{2 * N_LAYERS * large * D_MODEL * 4 / 2**20:.0f} MiB at {large} tokens")
    return {"peak_rss_growth_mib": growth, "seconds": seconds, "ratio": ratio}


# -------------------------------------------------------------------------------------------------- gpu


def bench_gpu(vocab: int, length: int, batch: int, repeats: int, steps: int) -> dict:
    """mamba_ssm kernels ("auto") against the PyTorch scan ("torch") on CUDA."""
    from vmm.model.kernels import mamba_kernels

    print(f"\n[4] CUDA: mamba_ssm kernels {'found' if mamba_kernels() else 'NOT installed (both rows use PyTorch)'}")
    tokens = torch.randint(0, vocab, (batch, length), device="cuda")
    conditions = _conditions(batch, length, "cuda")
    models = {kernel: build_ours(vocab, "cuda", kernel) for kernel in ("auto", "torch")}
    result = {}
    for kernel, model in models.items():
        def step(model=model):
            logits = model(tokens, conditions)
            F.cross_entropy(logits.reshape(-1, vocab), tokens.reshape(-1)).backward()
            torch.cuda.synchronize()
        seconds = _interleaved({kernel: step}, repeats, [model])[kernel]
        model.eval()
        cache = model.allocate_inference_cache(1)
        token = torch.zeros(1, dtype=torch.long, device="cuda")
        one = _conditions(1, 1, "cuda")
        with torch.inference_mode():
            model(tokens[:1], _conditions(1, length, "cuda"), cache=cache)
            torch.cuda.synchronize()
            started = time.perf_counter()
            for _ in range(steps):
                token = model.step(token, one, cache).argmax(-1)
            torch.cuda.synchronize()
        ms = (time.perf_counter() - started) / steps * 1e3
        result[kernel] = {"train_tokens_per_s": batch * length / seconds, "ms_per_token": ms}
        print(f"  {kernel:5s} training {batch * length / seconds:9.0f} tokens/s   decoding {ms:.2f} ms/token")
    return result
