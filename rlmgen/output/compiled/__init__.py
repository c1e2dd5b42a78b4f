"""Templates compiled by rlmgen.output.precompile (generated, do not edit)."""
