"""Character-level DNA tokenizer: specials plus A, C, G, T, N, as plain int64 token ids."""
from __future__ import annotations

import torch

SPECIALS = ("<pad>", "<bos>", "<eos>", "<mask>", "<unk>")
BASES = ("A", "C", "G", "T", "N")
IUPAC_AMBIGUOUS = "RYSWKMBDHV"        # two-or-more-base codes: read as N


class DNATokenizerError(ValueError):
    """A sequence holds a character that is not DNA; the message names record and position."""


class DNATokenizer:
    """Maps DNA text to ids and back. Vocabulary: <pad>=0, <bos>=1 (also CLS), <eos>=2
    (also SEP), <mask>=3, <unk>=4, A=5, C=6, G=7, T=8, N=9.

    Lower case (soft-masked repeats) folds to upper case and IUPAC ambiguity codes map to N;
    any other character is an error.
    """

    vocab = SPECIALS + BASES
    pad_id, bos_id, eos_id, mask_id, unk_id = range(len(SPECIALS))

    def __init__(self) -> None:
        table = torch.full((256,), -1, dtype=torch.int64)
        for i, base in enumerate(BASES):
            table[ord(base)] = table[ord(base.lower())] = len(SPECIALS) + i
        for code in IUPAC_AMBIGUOUS:
            table[ord(code)] = table[ord(code.lower())] = self.token_id("N")
        self._table = table
        complement = torch.arange(len(self.vocab))
        for a, b in (("A", "T"), ("C", "G"), ("G", "C"), ("T", "A")):
            complement[self.token_id(a)] = self.token_id(b)
        self._complement = complement

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def special_ids(self) -> list[int]:
        """Ids of <pad>, <bos>, <eos>, <mask>, <unk>: never part of a decoded sequence."""
        return list(range(len(SPECIALS)))

    def token_id(self, token: str) -> int:
        """Id of one vocabulary entry ("A", "<bos>", ...)."""
        return self.vocab.index(token)

    def encode(self, text: str | bytes, record: str = "<sequence>", offset: int = 0) -> torch.Tensor:
        """DNA text -> (len(text),) int64 ids. An illegal character raises DNATokenizerError
        naming ``record`` and its 1-based position (``offset`` = position of text[0] - 1)."""
        raw = text.encode("latin-1") if isinstance(text, str) else bytes(text)
        ids = self._table[torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()] if raw \
            else torch.empty(0, dtype=torch.int64)
        bad = (ids < 0).nonzero()
        if len(bad):
            i = int(bad[0])
            raise DNATokenizerError(f"{record}: position {offset + i + 1}: character "
                                    f"{chr(raw[i])!r} is not DNA (expected A, C, G, T, N or an "
                                    f"IUPAC code)")
        return ids

    def decode(self, ids: torch.Tensor, keep_specials: bool = False) -> str:
        """(length,) ids -> text; specials dropped unless ``keep_specials``."""
        return "".join(self.vocab[i] for i in ids.tolist()
                       if keep_specials or i >= len(SPECIALS))

    @property
    def complement_map(self) -> list[int]:
        """complement_map[i] = id of the complement of token i (A<->T, C<->G; N and specials
        map to themselves): an involution of the vocabulary, the strand symmetry that an
        RC-equivariant model is built around."""
        return self._complement.tolist()

    def reverse_complement(self, ids: torch.Tensor) -> torch.Tensor:
        """Reverse complement along the last dimension (A<->T, C<->G; N and specials kept)."""
        return self._complement.to(ids.device)[ids].flip(-1)
