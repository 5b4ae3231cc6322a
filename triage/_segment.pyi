# Types of the compiled segmenter (triage/_segment.c); triage.segmentation is its only caller.
from collections.abc import Sequence
from typing import final

@final
class Segmenter:
    def segment(self, text: str, /) -> list[str]: ...
    def suggest_freq(self, word: str, /) -> int: ...

def build(
    dictionary: str, user_words: Sequence[str], stop_words: Sequence[str], placeholders: tuple[str, ...], /
) -> Segmenter: ...
