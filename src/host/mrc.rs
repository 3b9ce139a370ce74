//! MRC files (CCP-EM MRC2014): streaming reader for every common mode, float32/float16 writer.
