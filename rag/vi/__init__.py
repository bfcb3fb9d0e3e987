"""Vietnamese language knowledge, pure functions used at index and query time."""
