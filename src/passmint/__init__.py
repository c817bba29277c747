"""passmint: mobile wallet passes and the loyalty programs behind them."""

__version__ = "0.1.0"
