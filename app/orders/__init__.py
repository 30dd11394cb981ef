"""Orders: cart, checkout (one order per store), order lifecycle, reviews and returns."""
