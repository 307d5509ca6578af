"""The textual syntax (``*.agent``): read it into the model and print the model back."""

from counterpoint.dsl.text.front import load_text
from counterpoint.dsl.text.printer import print_text

__all__ = ["load_text", "print_text"]
