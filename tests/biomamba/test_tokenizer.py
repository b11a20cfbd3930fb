"""DNA tokenizer: round trip, case folding, IUPAC codes, errors, reverse complement."""
import pytest
import torch

from mambaseq.biomamba import DNATokenizer, DNATokenizerError


def test_round_trip_and_case_folding():
    tok = DNATokenizer()
    ids = tok.encode("ACGTNacgtn")
    assert ids.dtype == torch.int64 and ids.tolist() == [5, 6, 7, 8, 9] * 2
    assert tok.decode(ids) == "ACGTNACGTN"
    assert tok.vocab_size == 10 and tok.token_id("<bos>") == tok.bos_id == 1


def test_iupac_codes_become_N():
    tok = DNATokenizer()
    assert tok.decode(tok.encode("ARYSWKMBDHVryswkmbdhv")) == "A" + "N" * 20


def test_illegal_character_names_record_and_position():
    tok = DNATokenizer()
    with pytest.raises(DNATokenizerError, match=r"chr7: position 1004: character 'X'"):
        tok.encode("ACGX", record="chr7", offset=1000)
    with pytest.raises(DNATokenizerError, match="position 3: character '-'"):
        tok.encode("AC-")


def test_reverse_complement():
    tok = DNATokenizer()
    ids = tok.encode("AACGTN")
    assert tok.decode(tok.reverse_complement(ids)) == "NACGTT"
    batch = torch.randint(0, 10, (4, 33))
    assert torch.equal(tok.reverse_complement(tok.reverse_complement(batch)), batch)


def test_complement_map_is_an_involution_matching_reverse_complement():
    tok = DNATokenizer()
    comp = tok.complement_map
    assert [comp[comp[i]] for i in range(tok.vocab_size)] == list(range(tok.vocab_size))
    assert tok.decode(torch.tensor(comp)[tok.encode("ACGTN")]) == "TGCAN"
    assert comp[: len(tok.special_ids)] == tok.special_ids
