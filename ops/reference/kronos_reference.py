"""Reference Kronos training step and inference in plain PyTorch, for side-by-side benchmarks.

The reference implementation (github.com/shiyu-coder/Kronos, MIT) is not installable
from the registries our machines reach, so this file writes its networks out again
from the published description (notes/kronos.md) in the reference's own style:
nn.Module layers, F.scaled_dot_product_attention, torch.optim.AdamW and
clip_grad_norm_. `--check FIXTURE_DIR` proves it is the same network: it loads the
parity fixture (weights written by the reference itself) and compares tokens and
logits with the fixture's expected.json.

    python kronos_reference.py --check ../shared/fixtures/kronos/tiny
    python kronos_reference.py --preset mini --batch 16 --window 101 --steps 10
    python kronos_reference.py --infer --preset mini --context 512 --horizon 16 --paths 1,8,16

The benchmark prints one JSON line per preset, in train_bench's format: the median
optimiser step (forward with dropout, backward, clipping, AdamW) after two warm-up
steps, and tokens/s, a token being one predicted bar position (window - 1 per window).
With --infer it prints the median seconds per forecast of one series for each path
count, generated as the reference's auto_regressive_inference does.
"""

import argparse
import json
import math
import statistics
import struct
import sys
import time
import warnings

# torch warns once that numpy is absent; nothing here uses numpy
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PRESETS = {
    # d_model, layers, heads, ff_dim; the tokenizer is 256/4/4/512 for all three
    "mini": (256, 4, 4, 512, 5),
    "small": (512, 8, 8, 1024, 4),
    "base": (832, 12, 16, 2048, 4),
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class Rotary(nn.Module):
    """GPT-NeoX half-split rotary embedding; positions from the query's length."""

    def __init__(self, head_dim):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, q, k):
        t = torch.arange(q.shape[-2], device=q.device, dtype=self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        return rotate(q, cos, sin), rotate(k, cos, sin)


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, d, heads, attn_dropout, resid_dropout):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.rotary = Rotary(d // heads)
        self.attn_dropout = attn_dropout
        self.resid_dropout = nn.Dropout(resid_dropout)

    def split(self, x):
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, query, context=None, causal=True):
        context = query if context is None else context
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(context)), self.split(self.v_proj(context))
        q, k = self.rotary(q, k)
        dropout = self.attn_dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=causal)
        b, _, t, _ = out.shape
        return self.resid_dropout(self.out_proj(out.transpose(1, 2).reshape(b, t, -1)))


class FeedForward(nn.Module):
    def __init__(self, d, ff, dropout):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False)
        self.w2 = nn.Linear(ff, d, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class Block(nn.Module):
    def __init__(self, d, heads, ff, ffn_dropout=0.0, attn_dropout=0.0, resid_dropout=0.0):
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(d), RMSNorm(d)
        self.self_attn = Attention(d, heads, attn_dropout, resid_dropout)
        self.ffn = FeedForward(d, ff, ffn_dropout)

    def forward(self, x):
        h = x + self.self_attn(self.norm1(x))
        return h + self.ffn(self.norm2(h))


class TokenizerEncoder(nn.Module):
    """The tokenizer's encoder and quantiser (all the predictor stage needs)."""

    def __init__(self, d=256, heads=4, ff=512, layers=4, bits=20):
        super().__init__()
        self.embed = nn.Linear(6, d)
        self.encoder = nn.ModuleList(Block(d, heads, ff) for _ in range(layers - 1))
        self.quant_embed = nn.Linear(d, bits)
        self.s1_bits = bits // 2

    @torch.no_grad()
    def encode(self, x):
        z = self.embed(x)
        for block in self.encoder:
            z = block(z)
        bits = (self.quant_embed(z) > 0).long()
        weights = 2 ** torch.arange(self.s1_bits, device=x.device)
        return (bits[..., : self.s1_bits] * weights).sum(-1), (bits[..., self.s1_bits :] * weights).sum(-1)


class Tokenizer(TokenizerEncoder):
    """The whole tokenizer: the encoder above plus the decoder back to candles."""

    def __init__(self, d=256, heads=4, ff=512, enc_layers=4, dec_layers=4, bits=20):
        super().__init__(d, heads, ff, enc_layers, bits)
        self.bits = bits
        self.post_quant_embed = nn.Linear(bits, d)
        self.decoder = nn.ModuleList(Block(d, heads, ff) for _ in range(dec_layers - 1))
        self.head = nn.Linear(d, 6)

    @torch.no_grad()
    def decode(self, s1, s2):
        weights = 2 ** torch.arange(self.s1_bits, device=s1.device)
        bits = torch.cat([(s1.unsqueeze(-1) & weights) != 0, (s2.unsqueeze(-1) & weights) != 0], dim=-1).float()
        z = self.post_quant_embed((bits * 2 - 1) / math.sqrt(self.bits))
        for block in self.decoder:
            z = block(z)
        return self.head(z)


class Predictor(nn.Module):
    def __init__(self, d, layers, heads, ff, bits=10, dropouts=(0.25, 0.1, 0.25, 0.1)):
        super().__init__()
        ffn_p, attn_p, resid_p, token_p = dropouts
        self.d = d
        self.embedding = nn.Module()
        self.embedding.emb_s1 = nn.Embedding(2**bits, d)
        self.embedding.emb_s2 = nn.Embedding(2**bits, d)
        self.embedding.fusion_proj = nn.Linear(2 * d, d)
        self.time_emb = nn.Module()
        for name, n in [("minute", 60), ("hour", 24), ("weekday", 7), ("day", 32), ("month", 13)]:
            setattr(self.time_emb, f"{name}_embed", nn.Embedding(n, d))
        self.token_drop = nn.Dropout(token_p)
        self.transformer = nn.ModuleList(Block(d, heads, ff, ffn_p, attn_p, resid_p) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.dep_layer = nn.Module()
        self.dep_layer.cross_attn = Attention(d, 4, 0.0, 0.0)
        self.dep_layer.norm = RMSNorm(d)
        self.head = nn.Module()
        self.head.proj_s1 = nn.Linear(d, 2**bits)
        self.head.proj_s2 = nn.Linear(d, 2**bits)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0, std=m.embedding_dim**-0.5)

    def hidden(self, s1, s2, stamps):
        scale = math.sqrt(self.d)
        e = self.embedding
        x = e.fusion_proj(torch.cat([e.emb_s1(s1) * scale, e.emb_s2(s2) * scale], dim=-1))
        te = self.time_emb
        x = x + (
            te.hour_embed(stamps[..., 1])
            + te.weekday_embed(stamps[..., 2])
            + te.day_embed(stamps[..., 3])
            + te.month_embed(stamps[..., 4])
            + te.minute_embed(stamps[..., 0])
        )
        x = self.token_drop(x)
        for block in self.transformer:
            x = block(x)
        return self.norm(x)

    def s2_logits(self, hidden, sibling_ids, causal):
        sibling = self.embedding.emb_s1(sibling_ids)
        x = hidden + self.dep_layer.cross_attn(sibling, hidden, causal=causal)
        return self.head.proj_s2(self.dep_layer.norm(x))


def predictor_loss(tokenizer, predictor, x, stamps):
    """Stage 2: tokens from the frozen tokenizer, inputs 0..T-1, targets 1..T,
    (CE_s1 + CE_s2) / 2 with the s2 head's sibling sampled from the s1 distribution."""
    s1, s2 = tokenizer.encode(x)
    hidden = predictor.hidden(s1[:, :-1], s2[:, :-1], stamps[:, :-1])
    s1_logits = predictor.head.proj_s1(hidden)
    with torch.no_grad():
        probs = F.softmax(s1_logits.detach(), dim=-1)
        sibling = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1).view(s1_logits.shape[:2])
    s2_logits = predictor.s2_logits(hidden, sibling, causal=True)
    ce1 = F.cross_entropy(s1_logits.reshape(-1, s1_logits.shape[-1]), s1[:, 1:].reshape(-1))
    ce2 = F.cross_entropy(s2_logits.reshape(-1, s2_logits.shape[-1]), s2[:, 1:].reshape(-1))
    return (ce1 + ce2) / 2


def sample(logits, temperature, top_k, top_p):
    """The reference's sampling: temperature, then top-k (which skips top-p) or nucleus
    filtering that keeps the token crossing the threshold, then multinomial."""
    logits = logits / temperature
    if top_k > 0:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    elif top_p < 1.0:
        ordered, index = torch.sort(logits, descending=True, dim=-1)
        mass = torch.cumsum(F.softmax(ordered, dim=-1), dim=-1)
        drop = mass > top_p
        drop[..., 1:] = drop[..., :-1].clone()
        drop[..., 0] = False
        logits = logits.masked_fill(drop.scatter(-1, index, drop), float("-inf"))
    return torch.multinomial(F.softmax(logits, dim=-1), 1).squeeze(-1)


@torch.no_grad()
def forecast(tokenizer, predictor, x, stamps, horizon, max_context, paths, temperature=1.0, top_k=0, top_p=0.9):
    """The reference's autoregressive inference for one normalised series `x [L, 6]`
    with the time features of its history and of the horizon `stamps [L + H, 5]`: the
    series repeated once per path, the whole window recomputed every step, the heads
    over the whole window, the last max_context tokens decoded, paths averaged."""
    history = x.shape[0]
    x = x.unsqueeze(0).repeat(paths, 1, 1)
    stamps = stamps.unsqueeze(0).repeat(paths, 1, 1)
    s1, s2 = tokenizer.encode(x)
    for step in range(horizon):
        length = history + step
        window = min(length, max_context)
        hidden = predictor.hidden(s1[:, -window:], s2[:, -window:], stamps[:, length - window : length])
        s1_next = sample(predictor.head.proj_s1(hidden)[:, -1], temperature, top_k, top_p)
        sibling = predictor.embedding.emb_s1(s1_next).unsqueeze(1)
        dep = predictor.dep_layer
        s2_logits = predictor.head.proj_s2(dep.norm(hidden + dep.cross_attn(sibling, hidden, causal=False)))
        s2_next = sample(s2_logits[:, -1], temperature, top_k, top_p)
        s1 = torch.cat([s1, s1_next.unsqueeze(1)], dim=1)
        s2 = torch.cat([s2, s2_next.unsqueeze(1)], dim=1)
    window = min(s1.shape[1], max_context)
    return tokenizer.decode(s1[:, -window:], s2[:, -window:])[:, -horizon:].mean(0)


def random_walk(batch, window, seed):
    """Normalised windows of a seeded random walk and their calendar features."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.randn(batch, window, 1, generator=g) * 0.01
    close = torch.cumsum(steps, dim=1)
    x = torch.cat([close, close + 0.002, close - 0.002, close, torch.rand(batch, window, 2, generator=g)], dim=-1)
    x = ((x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True, unbiased=False) + 1e-5)).clamp(-5, 5)
    minutes = torch.arange(window) * 5
    stamps = torch.stack(
        [minutes % 60, (minutes // 60) % 24, (minutes // 1440) % 7, 1 + (minutes // 1440) % 28, torch.full_like(minutes, 3)],
        dim=-1,
    )
    return x, stamps.unsqueeze(0).expand(batch, -1, -1).contiguous()


def benchmark(args):
    d, layers, heads, ff, _group = PRESETS[args.preset]
    torch.manual_seed(0)
    tokenizer = TokenizerEncoder().eval()
    predictor = Predictor(d, layers, heads, ff).train()
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=4e-5, betas=(0.9, 0.95), weight_decay=0.1)
    times = []
    for step in range(args.steps + 2):
        x, stamps = random_walk(args.batch, args.window, step)
        started = time.perf_counter()
        optimizer.zero_grad()
        if args.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = predictor_loss(tokenizer, predictor, x, stamps)
        else:
            loss = predictor_loss(tokenizer, predictor, x, stamps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(predictor.parameters(), 3.0)
        optimizer.step()
        if step >= 2:
            times.append(time.perf_counter() - started)
    step_s = statistics.median_high(times)
    tokens = args.batch * (args.window - 1)
    print(
        json.dumps(
            {
                "model": f"reference {args.preset}",
                "stage": "predictor",
                "precision": args.precision,
                "threads": torch.get_num_threads(),
                "batch": args.batch,
                "window": args.window,
                "steps": args.steps,
                "median_step_ms": round(step_s * 1000, 1),
                "tokens_per_s": round(tokens / step_s),
            }
        )
    )


def infer_benchmark(args):
    """Seconds per forecast of one series with 1..N sample paths (the reference's
    defaults: T 1, top-p 0.9), median of --reps after a warm-up."""
    d, layers, heads, ff, group = PRESETS[args.preset]
    torch.manual_seed(0)
    tokenizer, predictor = Tokenizer().eval(), Predictor(d, layers, heads, ff).eval()
    x, stamps = random_walk(1, args.context + args.horizon, 0)
    for paths in [int(p) for p in args.paths.split(",")]:
        forecast(tokenizer, predictor, x[0, : args.context], stamps[0], 2, args.max_context, paths)
        times = []
        for _ in range(args.reps):
            started = time.perf_counter()
            forecast(tokenizer, predictor, x[0, : args.context], stamps[0], args.horizon, args.max_context, paths)
            times.append(time.perf_counter() - started)
        print(
            json.dumps(
                {
                    "model": f"reference {args.preset}",
                    "context": args.context,
                    "horizon": args.horizon,
                    "max_context": args.max_context,
                    "paths": paths,
                    "threads": torch.get_num_threads(),
                    "median_s": round(statistics.median_high(times), 3),
                }
            )
        )


def load_safetensors(path):
    """The F32 tensors of a .safetensors file (the fixtures' weights are all F32)."""
    raw = open(path, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            continue  # buffers such as the quantiser's basis: not needed here
        start, end = meta["data_offsets"]
        data = bytearray(raw[8 + size + start : 8 + size + end])
        out[name] = torch.frombuffer(data, dtype=torch.float32).reshape(meta["shape"]).clone()
    return out


def stamps_of(timestamps):
    import datetime

    rows = []
    for text in timestamps:
        t = datetime.datetime.fromisoformat(text)
        rows.append([t.minute, t.hour, t.weekday(), t.day, t.month])
    return torch.tensor(rows)


def check(fixture):
    """Compares this file's networks with what the reference wrote in the fixture."""
    expected = json.load(open(f"{fixture}/expected.json"))
    tcfg, pcfg = expected["config"]["tokenizer"], expected["config"]["predictor"]
    tokenizer = Tokenizer(
        tcfg["d_model"], tcfg["n_heads"], tcfg["ff_dim"], tcfg["n_enc_layers"], tcfg["n_dec_layers"], tcfg["s1_bits"] + tcfg["s2_bits"]
    )
    predictor = Predictor(pcfg["d_model"], pcfg["n_layers"], pcfg["n_heads"], pcfg["ff_dim"], pcfg["s1_bits"])
    for module, name in [(tokenizer, "tokenizer"), (predictor, "predictor")]:
        weights = load_safetensors(f"{fixture}/{name}/model.safetensors")
        own = module.state_dict()
        wanted = {k: v for k, v in weights.items() if k in own}
        missing = sorted(set(own) - set(wanted))
        if missing:
            raise SystemExit(f"{name}: weights missing from the fixture: {missing}")
        module.load_state_dict(wanted)
        module.eval()
    lines = open(f"{fixture}/input.csv").read().strip().splitlines()[1:]
    worst = 0.0
    for case in expected["cases"]:
        n = case["context_len"]
        rows = [line.split(",") for line in lines[:n]]
        x = torch.tensor([[float(v) for v in r[1:]] for r in rows], dtype=torch.float32)
        mean, std = x.mean(0), x.std(0, unbiased=False)
        x = ((x - mean) / (std + 1e-5)).clamp(-5, 5).unsqueeze(0)
        s1, s2 = tokenizer.encode(x)
        assert s1[0].tolist() == case["tokens_s1"], "s1 tokens differ from the reference's"
        assert s2[0].tolist() == case["tokens_s2"], "s2 tokens differ from the reference's"
        window = min(n, case["max_context"])
        stamps = stamps_of([r[0] for r in rows]).unsqueeze(0)
        with torch.no_grad():
            hidden = predictor.hidden(s1[:, -window:], s2[:, -window:], stamps[:, -window:])
            last = hidden[:, -1:]
            s1_logits = predictor.head.proj_s1(last)[0, 0]
            top = int(s1_logits.argmax())
            assert top == case["step0_s1_argmax"], f"greedy s1 {top}, reference {case['step0_s1_argmax']}"
            # inference: one sibling query, no mask, over the whole context
            sibling = predictor.embedding.emb_s1(torch.tensor([[top]]))
            x2 = last + predictor.dep_layer.cross_attn(sibling, hidden, causal=False)
            s2_logits = predictor.head.proj_s2(predictor.dep_layer.norm(x2))[0, 0]
        for got, want in [(s1_logits[:16], case["step0_s1_logits_head"]), (s2_logits[:16], case["step0_s2_logits_head"])]:
            want = torch.tensor(want)
            rel = ((got - want).abs() / want.abs().clamp_min(1e-6)).max().item()
            worst = max(worst, rel)
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), f"logits differ: {got} against {want}"
        assert int(s2_logits.argmax()) == case["step0_s2_argmax"]
        # the greedy forecast, end to end
        all_stamps = stamps_of([r[0] for r in rows] + case["future_timestamps"])
        normalised = forecast(tokenizer, predictor, x[0], all_stamps, case["pred_len"], case["max_context"], 1, top_k=1)
        got = normalised * (std + 1e-5) + mean
        want = torch.tensor(case["forecast"])
        rel = ((got - want).abs() / want.abs().clamp_min(1e-6)).max().item()
        worst = max(worst, rel)
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), f"forecast differs: {got} against {want}"
    print(f"reference transcription matches the fixture: {len(expected['cases'])} cases, tokens equal, "
          f"logits and greedy forecasts within {worst:.1e} (relative)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="FIXTURE_DIR")
    parser.add_argument("--preset", default="mini", choices=sorted(PRESETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--window", type=int, default=101)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--precision", default="f32", choices=["f32", "bf16"], help="bf16: torch.autocast on the CPU")
    parser.add_argument("--infer", action="store_true", help="time forecasts instead of training steps")
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--horizon", type=int, default=16)
    parser.add_argument("--max-context", type=int, default=2048)
    parser.add_argument("--paths", default="1,8,16")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.check:
        check(args.check)
    elif args.infer:
        infer_benchmark(args)
    else:
        if args.window < 4 or args.steps < 1 or args.batch < 1:
            parser.error("--window must be at least 4, --steps and --batch at least 1")
        benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
