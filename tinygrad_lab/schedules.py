"""Learning-rate schedules: pure functions of the step number, and a driver.

A schedule is a small object with ``lr_at(step) -> float``; it has no hidden
state, so you can plot it before training::

    sched = CosineLR(total_steps=2000, warmup_steps=100, base_lr=2e-5)
    plt.plot(sched.values(2000))

To drive an optimizer, wrap it in a :class:`Scheduler` and call ``step()``
after each ``optimizer.step()``::

    opt = optim.SGD(model.parameters(), lr=2e-5)
    scheduler = Scheduler(opt, CosineLR(total_steps=2000, warmup_steps=100))
    for step in range(2000):
        ...; opt.step(); scheduler.step()

A schedule built without ``base_lr`` takes the optimizer's lr when the
Scheduler is created, so configs only state the lr once.
"""

from __future__ import annotations

import copy
import math

import numpy as np

__all__ = [
    "Schedule",
    "ConstantLR",
    "StepLR",
    "ExponentialLR",
    "CosineLR",
    "Scheduler",
    "get_schedule",
]


class Schedule:
    """Base class: ``lr_at(step)`` maps a step number (0, 1, ...) to a learning rate.

    Subclasses implement ``_lr(step, base_lr)``. ``base_lr`` (the peak/starting
    rate) may be left as None and supplied later by :class:`Scheduler`.
    """

    def __init__(self, base_lr: float | None = None) -> None:
        if base_lr is not None:
            _check_lr(type(self).__name__, "base_lr", base_lr)
        self.base_lr = None if base_lr is None else float(base_lr)

    def _lr(self, step: int, base_lr: float) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define _lr()")

    def lr_at(self, step: int) -> float:
        """The learning rate to use at ``step`` (counting from 0)."""
        if self.base_lr is None:
            raise ValueError(f"{type(self).__name__} has no base_lr: pass base_lr=... or drive "
                             f"an optimizer with Scheduler(optimizer, schedule), which uses the "
                             f"optimizer's lr")
        if step < 0:
            raise ValueError(f"{type(self).__name__}.lr_at: step must be >= 0, got {step}")
        return float(self._lr(int(step), self.base_lr))

    def values(self, n_steps: int) -> np.ndarray:
        """``[lr_at(0), ..., lr_at(n_steps - 1)]`` as a float64 array, ready to plot."""
        return np.array([self.lr_at(s) for s in range(int(n_steps))], dtype=np.float64)

    def with_base_lr(self, base_lr: float) -> Schedule:
        """A copy of this schedule with ``base_lr`` set."""
        _check_lr(type(self).__name__, "base_lr", base_lr)
        clone = copy.copy(self)
        clone.base_lr = float(base_lr)
        clone._check()
        return clone

    def _check(self) -> None:
        """Validate arguments that depend on base_lr (CosineLR's lr_min)."""

    def _args(self) -> str:
        return ""

    def __repr__(self) -> str:
        args = self._args()
        base = f"base_lr={self.base_lr}"
        return f"{type(self).__name__}({args + ', ' if args else ''}{base})"


def _check_lr(owner: str, name: str, value) -> None:
    if not (isinstance(value, (int, float, np.integer, np.floating)) and value >= 0
            and math.isfinite(value)):
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")


class ConstantLR(Schedule):
    """The same rate at every step (the assignment's fixed ``lr``)."""

    def _lr(self, step, base_lr):
        return base_lr


class StepLR(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` steps:
    ``base_lr * gamma ** (step // step_size)``."""

    def __init__(self, step_size: int, gamma: float = 0.1, base_lr: float | None = None) -> None:
        if not isinstance(step_size, (int, np.integer)) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        if not gamma > 0:
            raise ValueError(f"StepLR: gamma must be > 0, got {gamma}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(base_lr)

    def _lr(self, step, base_lr):
        return base_lr * self.gamma ** (step // self.step_size)

    def _args(self):
        return f"step_size={self.step_size}, gamma={self.gamma}"


class ExponentialLR(Schedule):
    """Multiply the rate by ``gamma`` every step: ``base_lr * gamma ** step``."""

    def __init__(self, gamma: float, base_lr: float | None = None) -> None:
        if not gamma > 0:
            raise ValueError(f"ExponentialLR: gamma must be > 0, got {gamma}")
        self.gamma = float(gamma)
        super().__init__(base_lr)

    def _lr(self, step, base_lr):
        return base_lr * self.gamma ** step

    def _args(self):
        return f"gamma={self.gamma}"


class CosineLR(Schedule):
    """Cosine decay with optional linear warmup (the assignment's extra credit).

    * steps ``0 .. warmup_steps``: rises linearly from ``lr_min`` to ``base_lr``;
    * steps ``warmup_steps .. total_steps``: half a cosine from ``base_lr``
      down to ``lr_min``::

          lr = lr_min + (base_lr - lr_min) * (1 + cos(pi * progress)) / 2

      where ``progress`` goes from 0 to 1;
    * after ``total_steps``: stays at ``lr_min``.

    Warmup helps because the first updates, made with untuned moments or
    badly scaled weights, are the least trustworthy; the slow end lets the
    weights settle into a minimum instead of bouncing around it.
    """

    def __init__(self, total_steps: int, lr_min: float = 0.0, warmup_steps: int = 0,
                 base_lr: float | None = None) -> None:
        if not isinstance(total_steps, (int, np.integer)) or total_steps <= 0:
            raise ValueError(f"CosineLR: total_steps must be a positive int, got {total_steps!r}")
        if not isinstance(warmup_steps, (int, np.integer)) or not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"CosineLR: warmup_steps must be an int in [0, total_steps="
                             f"{total_steps}], got {warmup_steps!r}")
        _check_lr("CosineLR", "lr_min", lr_min)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.lr_min = float(lr_min)
        super().__init__(base_lr)
        self._check()

    def _check(self):
        if self.base_lr is not None and self.lr_min > self.base_lr:
            raise ValueError(f"CosineLR: lr_min={self.lr_min} is larger than "
                             f"base_lr={self.base_lr}")

    def _lr(self, step, base_lr):
        if step < self.warmup_steps:
            return self.lr_min + (base_lr - self.lr_min) * step / self.warmup_steps
        if step >= self.total_steps:
            return self.lr_min
        progress = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        lr = self.lr_min + (base_lr - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * progress))
        # Rounding could step a hair outside [lr_min, base_lr]; the documented range holds.
        return min(max(lr, self.lr_min), base_lr)

    def _args(self):
        return (f"total_steps={self.total_steps}, lr_min={self.lr_min}, "
                f"warmup_steps={self.warmup_steps}")


class Scheduler:
    """Drives ``optimizer.lr`` with a schedule.

    On creation it sets ``optimizer.lr = schedule.lr_at(0)``; each ``step()``
    advances one step and sets the next rate. Call it after ``optimizer.step()``.
    ``state_dict``/``load_state_dict`` save the step count for checkpoints.
    """

    def __init__(self, optimizer, schedule: Schedule) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"Scheduler: expected a Schedule, got {type(schedule).__name__}")
        if schedule.base_lr is None:
            schedule = schedule.with_base_lr(optimizer.lr)
        self.optimizer = optimizer
        self.schedule = schedule
        self.last_step = 0
        self.optimizer.lr = self.schedule.lr_at(0)

    @property
    def lr(self) -> float:
        """The rate currently set on the optimizer by this scheduler."""
        return self.schedule.lr_at(self.last_step)

    def step(self) -> float:
        """Advance one step, set the optimizer's lr and return it."""
        self.last_step += 1
        lr = self.schedule.lr_at(self.last_step)
        self.optimizer.lr = lr
        return lr

    def state_dict(self) -> dict:
        """The step count (the schedule itself is rebuilt from the config)."""
        return {"last_step": self.last_step, "base_lr": self.schedule.base_lr}

    def load_state_dict(self, state: dict) -> None:
        """Resume at the saved step and set the optimizer's lr to match."""
        self.schedule = self.schedule.with_base_lr(state["base_lr"])
        self.last_step = int(state["last_step"])
        self.optimizer.lr = self.schedule.lr_at(self.last_step)

    def __repr__(self) -> str:
        return f"Scheduler({self.schedule!r}, last_step={self.last_step})"


_SCHEDULES = {
    "constant": ConstantLR,
    "step": StepLR,
    "exponential": ExponentialLR,
    "exp": ExponentialLR,
    "cosine": CosineLR,
}


def get_schedule(name: str, **kwargs) -> Schedule:
    """Build a schedule from a config name and its arguments::

        get_schedule("cosine", total_steps=2000, warmup_steps=100)
    """
    key = str(name).strip().lower()
    if key not in _SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(sorted(_SCHEDULES))}")
    try:
        return _SCHEDULES[key](**kwargs)
    except TypeError as err:
        raise TypeError(f"get_schedule({name!r}): {err}") from err
