"""benchmarks/kernel_stats.py's reading of SASS: which instructions form the innermost loop."""
from benchmarks.kernel_stats import innermost_loop

# cuobjdump -sass lines: an outer loop (0x20-0x70) around an inner one (0x30-0x50), then a
# forward branch, which closes no loop
NESTED = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;                 /* 0x00000a0000017a02 */
        /*0010*/                   S2R R0, SR_TID.X ;                     /* 0x0000000000007919 */
        /*0020*/                   FFMA R2, R3, R4, R5 ;                  /* 0x0000000403027223 */
        /*0030*/                   MUFU.EX2 R6, R2 ;                      /* 0x0000000200067308 */
        /*0040*/              @P0  SHFL.UP PT, R7, R6, 0x1, RZ ;          /* 0x0420000006070989 */
        /*0050*/              @!P1 BRA 0x30 ;                             /* 0xfffffffc00009947 */
        /*0060*/                   BAR.SYNC.DEFER_BLOCKING 0x0 ;          /* 0x0000000000007b1d */
        /*0070*/                   BRA 0x20 ;                             /* 0xfffffff800007947 */
        /*0080*/                   BRA 0x90 ;                             /* 0x0000000000007947 */
        /*0090*/                   EXIT ;                                 /* 0x000000000000794d */
"""


def test_innermost_loop_is_the_shortest_backward_branch_span():
    assert innermost_loop(NESTED) == ["MUFU.EX2", "SHFL.UP", "BRA"]


def test_code_without_a_backward_branch_has_no_loop():
    straight = "\n".join(line for line in NESTED.splitlines() if "BRA 0x30" not in line
                         and "BRA 0x20" not in line)
    assert innermost_loop(straight) == []


def test_a_vector_opcode_keeps_its_width():
    """A vectorized atomic's opcode (F32x4: four floats an instruction) is read whole, not cut
    at the lower-case x as if it were a scalar one."""
    vector = NESTED.replace("MUFU.EX2 R6, R2",
                            "REDG.E.ADD.F32x4.FTZ.RN.STRONG.GPU desc[UR32][R90.64+0x800], R56")
    assert innermost_loop(vector) == ["REDG.E.ADD.F32x4.FTZ.RN.STRONG.GPU", "SHFL.UP", "BRA"]
