//! Weight files: parsing, validation and (with `std`) encoding.
