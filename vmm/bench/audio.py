"""`vmm bench audio`: decoding speed of the neural-audio decoder, against transformers' MusicGen generate.

For each config (tiny, small; `musicgen_small` too on a GPU) with random weights: one window of
`--seconds` of audio (50 codec frames per second, 4 codebooks in the delay pattern), classifier-free
guidance 3 (conditional and null batch in one forward), top-k 250.

- ours: `vmm.audio.sampling.generate_window` with a real window's conditions (video long/short-term
  module, score tokens, chroma summed into the steps) and the KV cache;
- peer: `MusicgenForCausalLM.generate` of transformers on the same decoder weights with the same
  cross-attention memory, guidance scale and top-k (its own delay-pattern handling and cache).

Runs are interleaved (ours, peer, ours, ...) so that load on a shared machine hits both alike; the
median is reported as decoder steps per second and as the real-time factor (seconds of audio made per
second of wall time; above 1 is faster than real time). Goal: ours within 1.25x of the peer's time
(ratio >= 0.8) while doing more (condition encoders, frame-aligned sums).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import torch

from vmm.audio.conditions import WindowInputs, collate
from vmm.audio.config import AudioLMConfig, preset
from vmm.audio.lm import AudioLM
from vmm.audio.sampling import SamplingSettings, generate_window, num_sampling_steps

NAME = "audio"
HELP = "neural-audio decoder steps/s and real-time factor (tiny, small; MusicGen-small size on a GPU) vs transformers' generate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configs", default=None,
                        help="comma-separated presets (default: tiny,small on the CPU; tiny,small,musicgen_small with CUDA)")
    parser.add_argument("--seconds", type=float, default=4.0, help="audio per timed run (default 4 s = 200 frames)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per decoder (default 3)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")


def window_inputs(config: AudioLMConfig, num_frames: int, gen: torch.Generator) -> WindowInputs:
    """Conditions of a real-sized window: whole-video and window frames, 8 score tokens/s, a chroma row per frame."""
    seconds = num_frames / config.frame_rate
    short = max(1, int(seconds * config.short_fps))
    tokens = max(1, int(8 * seconds))
    return WindowInputs(
        video_long=torch.randn(config.long_frames, config.video_feature_dim, generator=gen),
        video_short=torch.randn(short, config.video_feature_dim, generator=gen),
        video_short_frames=(torch.arange(short) + 0.5) * config.frame_rate / config.short_fps,
        score_ids=torch.randint(1, config.score_vocab_size, (tokens,), generator=gen),
        score_frames=torch.randint(0, num_frames, (tokens,), generator=gen).sort().values.float(),
        chroma=torch.eye(12)[torch.randint(0, 12, (num_frames,), generator=gen)],
    )


def bench_config(name: str, seconds: float, repeats: int, device: str) -> dict:
    config = preset(name)
    torch.manual_seed(0)
    lm = AudioLM(config).to(device).eval()
    frames = max(1, round(seconds * config.frame_rate))
    steps = num_sampling_steps(lm, frames)
    cond = collate([window_inputs(config, frames, torch.Generator().manual_seed(0))], frames)
    settings = SamplingSettings(top_k=250, cfg_coef=3.0)
    with torch.no_grad():
        fused = lm.fuse(cond.to(device), 1, frames)
        memory = torch.cat([fused.memory, torch.zeros_like(fused.memory)])  # conditional + null
        mask = torch.cat([fused.memory_mask, fused.memory_mask]).long()
    decoder = lm.decoder
    generation = decoder.generation_config
    generation.pad_token_id = generation.bos_token_id = generation.decoder_start_token_id = config.special_token
    generation.num_return_sequences = 1
    start_ids = torch.full((config.num_codebooks, 1), config.special_token, device=device)

    def ours() -> None:
        generate_window(lm, cond, frames, settings=settings, generator=torch.Generator(device).manual_seed(0))

    def peer() -> None:
        with torch.no_grad():
            decoder.generate(input_ids=start_ids, encoder_hidden_states=memory, encoder_attention_mask=mask,
                             max_new_tokens=steps, do_sample=True, top_k=250, guidance_scale=3.0)

    times: dict[str, list[float]] = {"ours": [], "peer": []}
    ours()
    peer()  # warm-up
    for _ in range(repeats):
        for label, fn in (("ours", ours), ("peer", peer)):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[label].append(time.perf_counter() - start)
    median = {k: statistics.median(v) for k, v in times.items()}
    params = sum(p.numel() for p in decoder.parameters())
    return {"name": name, "params": params, "steps": steps, "seconds": frames / config.frame_rate, **median}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: run with --device cpu")
        return 2
    default = "tiny,small,musicgen_small" if device.startswith("cuda") else "tiny,small"
    names = [n.strip() for n in (args.configs or default).split(",") if n.strip()]
    where = torch.cuda.get_device_name() if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} torch threads"
    print(f"neural-audio decoding, {args.seconds:g} s windows, CFG 3, top-k 250, on {where}; median of {args.repeats}")
    print(f"{'config':<15}{'decoder':>10}{'ours steps/s':>14}{'peer steps/s':>14}{'ratio':>8}{'ours RTF':>10}")
    for name in names:
        result = bench_config(name, args.seconds, args.repeats, device)
        ours, peer = result["steps"] / result["ours"], result["steps"] / result["peer"]
        rtf = result["seconds"] / result["ours"]
        print(f"{name:<15}{result['params'] / 1e6:>9.2f}M{ours:>14.1f}{peer:>14.1f}{ours / peer:>8.2f}{rtf:>10.2f}")
    print("peer = transformers MusicgenForCausalLM.generate on the same weights and memory; ratio = ours/peer "
          "speed; RTF = audio seconds per wall second")
    if not device.startswith("cuda"):
        print("the real-time factor of a MusicGen-small-sized decoder is measured on a GPU machine "
              "(`vmm bench audio` there adds musicgen_small)")
    return 0
