"""The HG38-style pretraining data module: BED splits, augmentation on train only,
deterministic validation windows."""

import torch

from mambaseq.biomamba import DNATokenizer
from mambaseq.pipelines.data.dna_windows import DNADataConfig, DNAWindowsDataModule
from tests.bundled import DNA_FASTA as BUNDLED

RECORD = "Hsap_chr22_slice"


def test_bed_windows_augment_train_only_and_validate_deterministically(tmp_path):
    bed = tmp_path / "seqs.bed"
    bed.write_text(f"{RECORD}\t0\t60000\ttrain\n{RECORD}\t60000\t90000\ttrain\n"
                   f"{RECORD}\t100000\t140000\tvalid\n{RECORD}\t150000\t200000\ttest\n")
    cfg = DNADataConfig(fasta=str(BUNDLED), bed=str(bed), seq_len=255, batch_size=8,
                        train_windows_per_epoch=64, max_val_windows=16, rc_augment=True)
    data = DNAWindowsDataModule(cfg, seed=0)
    data.setup()
    assert [(r.start, r.end) for r in data.train_regions] == [(0, 90000)]
    train = [w for batch in data.train_dataloader().batch_sampler for w in batch]
    assert all(w.stop <= 90000 for w in train) and 16 < sum(w.rc for w in train) < 48
    val = list(data.val_dataloader().sampler)
    assert all(100000 <= w.start and w.stop <= 140000 and not w.rc for w in val)
    assert val == list(data.val_dataloader().sampler)                 # same windows every time
    batch = next(iter(data.val_dataloader()))
    assert batch.shape == (8, 256) and batch.dtype == torch.int64
    tok = DNATokenizer()
    w = next(w for w in train if w.rc)
    ids = data.dataset[w]
    assert torch.equal(tok.reverse_complement(ids), data.dataset[w._replace(rc=False)])


def test_without_bed_records_split_by_fraction():
    cfg = DNADataConfig(fasta=str(BUNDLED), seq_len=127, max_val_windows=4)
    data = DNAWindowsDataModule(cfg, seed=0)
    data.setup()
    assert [(r.start, r.end) for r in data.train_regions] == [(0, 180000)]
    assert [w.start for w in data.val_windows] == [180000, 180128, 180256, 180384]
    assert not any(w.rc for batch in data.train_dataloader().batch_sampler for w in batch)
