"""Train the digits CNN the way a researcher would, outside the workflow, and save its weights:
the trained model that examples/digits_cnn/scores_only.yaml brings (model.checkpoints).

    .venv/bin/python examples/digits_cnn/train_my_cnn.py resources/digits_cnn/my_cnn.pt
"""

import argparse
from pathlib import Path

import torch
from digits_cnn import build
from digits_data import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(1)
    arrays = load(test_fraction=0.25, seed=0)
    x, y = torch.as_tensor(arrays["x_train"]), torch.as_tensor(arrays["y_train"])
    model = build(channels=8, dropout=0.2, n_classes=10)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(args.epochs):
        for batch in torch.randperm(len(y)).split(64):
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"saved {args.out}: final batch loss {loss.item():.3f}")


if __name__ == "__main__":
    main()
