"""The box and Gaussian losses against independent implementations, in float64.

- `iou`, `giou`, `diou`, `ciou`: a torch port of torchvision.ops' box losses (box_iou,
  generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss, eps = 1e-7; torchvision
  itself does not import beside this machine's torch 2.13), written from its source and the papers,
  on boxes given in each of the four box formats.
- `gaussian_nll`: torch.nn.functional.gaussian_nll_loss with var = exp(log-variance).

The Keras code equals the NumPy reference to 1e-10 on every backend (test_float64_precision.py),
so these pin the Keras code too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaffold import domains
from scaffold.catalog import load_catalog
from scaffold.emit import numpy as numpy_emit

torch = pytest.importorskip("torch")
CATALOG = load_catalog()
EPS = 1e-7
BOX_KINDS = ("iou", "giou", "diou", "ciou")


def _corners(boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return boxes.unbind(dim=-1)


def torchvision_box_loss(kind: str, boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """torchvision.ops' loss of `kind` for xyxy boxes (boxes1 predicted, boxes2 true), reduction none."""
    b1, b2 = torch.tensor(boxes1, dtype=torch.float64), torch.tensor(boxes2, dtype=torch.float64)
    x1, y1, x2, y2 = _corners(b1)
    x1g, y1g, x2g, y2g = _corners(b2)
    # torchvision.ops._utils._loss_inter_union
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    iouk = intsctk / (unionk + EPS)
    if kind == "iou":
        return (1 - iouk).numpy()
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    if kind == "giou":
        area_c = (xc2 - xc1) * (yc2 - yc1)
        return (1 - (iouk - (area_c - unionk) / (area_c + EPS))).numpy()
    diagonal_distance_squared = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + EPS
    x_p, y_p = (x2 + x1) / 2, (y2 + y1) / 2
    x_g, y_g = (x1g + x2g) / 2, (y1g + y2g) / 2
    centers_distance_squared = (x_p - x_g) ** 2 + (y_p - y_g) ** 2
    diou = 1 - iouk + centers_distance_squared / diagonal_distance_squared
    if kind == "diou":
        return diou.numpy()
    w_pred, h_pred = x2 - x1, y2 - y1
    w_gt, h_gt = x2g - x1g, y2g - y1g
    v = (4 / (torch.pi**2)) * torch.pow(torch.atan(w_gt / h_gt) - torch.atan(w_pred / h_pred), 2)
    alpha = v / (1 - iouk + v + EPS)
    return (diou + alpha * v).numpy()


def random_boxes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """xyxy boxes: overlapping, disjoint and nested ones."""
    rng = np.random.default_rng(seed)
    corner = rng.uniform(-3.0, 3.0, size=(64, 2))
    size = rng.uniform(0.2, 3.0, size=(64, 2))
    true = np.concatenate([corner, corner + size], axis=-1)
    pred_corner = corner + rng.normal(scale=1.5, size=(64, 2))
    pred = np.concatenate([pred_corner, pred_corner + rng.uniform(0.2, 3.0, size=(64, 2))], axis=-1)
    return true, pred


@pytest.mark.parametrize("layout", domains.BOX_FORMATS)
@pytest.mark.parametrize("kind", BOX_KINDS)
def test_box_losses_equal_torchvision(kind, layout):
    spec = CATALOG.get(kind)
    params = spec.bind({"box_format": layout})
    for seed in range(3):
        true, pred = random_boxes(seed)
        got = numpy_emit.evaluate(spec, domains.encode_boxes(true, layout), domains.encode_boxes(pred, layout), params)
        expected = torchvision_box_loss(kind, pred, true)
        # ciou's aspect term divides by h + epsilon here and by h there: a relative 1e-7 of h
        rtol = 1e-6 if kind == "ciou" else 1e-12
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


def test_box_formats_encode_the_same_boxes():
    true, _ = random_boxes(0)
    for layout in domains.BOX_FORMATS:
        encoded = domains.encode_boxes(true, layout)
        spec = CATALOG.get("giou")
        same = numpy_emit.evaluate(spec, encoded, encoded, spec.bind({"box_format": layout}))
        np.testing.assert_allclose(same, 0.0, atol=1e-6)  # a box against itself: IoU 1, no enclosing gap


@pytest.mark.parametrize("kind", BOX_KINDS)
def test_overlap_free_boxes_still_pull_together_except_for_plain_iou(kind):
    """GIoU, DIoU and CIoU keep a slope for disjoint boxes; IoU's is zero (its documented caveat)."""
    spec = CATALOG.get(kind)
    true = np.array([[0.0, 0.0, 1.0, 1.0]])
    values = [numpy_emit.evaluate(spec, true, true + [[x, 0.0, x, 0.0]], spec.bind())[0] for x in (2.0, 3.0)]
    if kind == "iou":
        assert values[0] == values[1] == pytest.approx(1.0)
    else:
        assert values[1] > values[0] > 1.0


def torch_gaussian_nll(y_true: np.ndarray, y_pred: np.ndarray, full: bool) -> np.ndarray:
    mean = torch.tensor(y_pred[:, :1], dtype=torch.float64)
    variance = torch.exp(torch.tensor(y_pred[:, 1:], dtype=torch.float64))
    target = torch.tensor(y_true, dtype=torch.float64)
    loss = torch.nn.functional.gaussian_nll_loss(mean, target, variance, full=full, eps=1e-6, reduction="none")
    return loss[:, 0].numpy()


@pytest.mark.parametrize("full", [False, True], ids=["nll", "full"])
def test_gaussian_nll_equals_torch(full):
    spec = CATALOG.get("gaussian_nll")
    params = spec.bind({"full": full})
    for seed in range(3):
        case = domains.sample(spec, params, np.random.default_rng(seed), batch=64)
        got = numpy_emit.evaluate(spec, case.y_true, case.y_pred, params)
        np.testing.assert_allclose(got, torch_gaussian_nll(case.y_true, case.y_pred, full), rtol=1e-12, atol=1e-14)


def test_gaussian_nll_full_adds_half_log_two_pi():
    spec = CATALOG.get("gaussian_nll")
    case = domains.sample(spec, spec.bind(), np.random.default_rng(0))
    difference = numpy_emit.evaluate(spec, case.y_true, case.y_pred, spec.bind({"full": True})) - numpy_emit.evaluate(
        spec, case.y_true, case.y_pred, spec.bind()
    )
    np.testing.assert_allclose(difference, 0.5 * math.log(2 * math.pi), rtol=1e-12)
