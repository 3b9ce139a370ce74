//! Bead coordinate files: Xmipp .xmd, RELION .star, CSV and IMOD point text.
