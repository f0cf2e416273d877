"""The training-step benchmark of bench/training_step.ts, run with torchdiffeq, for a comparison
on the same machine in the same sitting (bench/RESULTS.md).

Reads the problem from shared/reference/bench_problem.json (or the copy in
tests/solvers/data/), trains nothing: one step = forward solve + adjoint backward, as in
bench/training_step.ts. Checks the NFE (forward 20, backward 32 default / 20 seminorm) and the
loss, then prints the median ms per step per norm.

    PYTHONPATH=/path/to/torchdiffeq python3 bench/torchdiffeq_step.py [--threads 1] [--steps 20]

Needs torch (Debian: python3-torch) and torchdiffeq (pure Python; its source on PYTHONPATH).
"""
import argparse
import json
import pathlib
import statistics
import time

import torch
import torchdiffeq

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()
torch.set_num_threads(args.threads)

here = pathlib.Path(__file__).resolve().parent.parent
problem = json.loads((here / "tests/solvers/data/bench_problem.json").read_text())
y0 = torch.tensor(problem["y0"], dtype=torch.float32)
ts = torch.tensor(problem["ts"], dtype=torch.float32)
target = torch.tensor(problem["target"], dtype=torch.float32)
solver = problem["solver"]


class Field(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.linears = torch.nn.ModuleList()
        for W, b in layers:
            lin = torch.nn.Linear(len(W[0]), len(W))
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(W))
                lin.bias.copy_(torch.tensor(b))
            self.linears.append(lin)
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        for i, lin in enumerate(self.linears):
            y = lin(y)
            if i < len(self.linears) - 1:
                y = torch.tanh(y)
        return y




def step(field, norm):
    adjoint_options = {} if norm == "default" else {"norm": "seminorm"}
    field.nfe = 0
    ys = torchdiffeq.odeint_adjoint(field, y0, ts, rtol=solver["rtol"], atol=solver["atol"],
                                    method=solver["method"], adjoint_options=adjoint_options)
    forward = field.nfe
    loss = torch.mean((ys - target) ** 2)
    field.zero_grad()
    field.nfe = 0
    loss.backward()
    return forward, field.nfe, loss.item()


field = Field(problem["layers"])
expected = problem["expected"]
for norm in ["default", "seminorm"]:
    forward, backward, loss = step(field, norm)
    assert forward == expected["forward_nfe"], (norm, forward)
    assert backward == expected["backward_nfe"][norm], (norm, backward)
    assert abs(loss - expected["loss"]) < 1e-4 * expected["loss"], (norm, loss)

print(f"torchdiffeq {torchdiffeq.__version__}, torch {torch.__version__}, {args.threads} thread(s); "
      f"median of {args.rounds} rounds x {args.steps} steps")
for norm in ["default", "seminorm"]:
    medians = []
    for _ in range(args.rounds):
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            step(field, norm)
            times.append(1000 * (time.perf_counter() - start))
        medians.append(statistics.median(times))
    print(f"{norm}: {statistics.median(medians):.1f} ms per step")
