"""Progress that suits where it is written: a bar on a terminal, plain lines in a log.

tqdm on a non-TTY stream writes a carriage-return update per step, thousands of them into
a CI log; here a non-TTY stream gets one plain line every ``every_s`` seconds (and at the
end) with the count, the rate and the extra fields.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Count work done; report it as a tqdm bar (TTY) or periodic plain lines (logs).

    Args:
        total: units of work expected (steps, plans).
        desc: what is counted, e.g. ``rail`` or ``test_iid builder``.
        unit: the unit's name.
        enabled: False prints nothing at all.
        stream: where to write (default stderr).
        every_s: seconds between plain lines on a non-TTY stream.
    """

    def __init__(self, total: int, desc: str, *, unit: str = 'step', enabled: bool = True,
                 stream=None, every_s: float = 30.0, initial: int = 0) -> None:
        self.total, self.desc, self.unit, self.enabled = total, desc, unit, enabled
        self.stream = stream or sys.stderr
        self.every_s, self.n, self.fields = every_s, initial, {}
        self.started = self.last = time.monotonic()
        self._start_n = initial
        tty = bool(getattr(self.stream, 'isatty', lambda: False)())
        self.bar = None
        if enabled and tty:
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit,
                            file=self.stream)

    @property
    def rate(self) -> float:
        """Return units per second since the start."""
        return (self.n - self._start_n) / max(1e-9, time.monotonic() - self.started)

    def update(self, n: int = 1, **fields) -> None:
        """Count ``n`` more units; ``fields`` are shown with the count (e.g. loss)."""
        self.n += n
        self.fields.update(fields)
        if self.bar is not None:
            self.bar.update(n)
            if fields:
                self.bar.set_postfix(**fields)
        elif self.enabled and time.monotonic() - self.last >= self.every_s:
            self._line()

    def _line(self) -> None:
        self.last = time.monotonic()
        extra = ''.join(f' {k}={v}' for k, v in self.fields.items())
        print(f'[{self.desc}] {self.n}/{self.total} {self.unit}s, {self.rate:.2f} '
              f'{self.unit}s/s{extra}', file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """Write one line of news (a validation result) above the bar or into the log."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(f'[{self.desc}] {text}', file=self.stream)
        else:
            print(f'[{self.desc}] {text}', file=self.stream, flush=True)

    def close(self) -> None:
        """Finish: close the bar, or write the last plain line."""
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            self._line()
