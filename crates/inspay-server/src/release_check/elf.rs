//! Whether an ELF executable is stripped (clauses 5.4.3.1, 6.3.4): the section names, read
//! from its section-header table, must include no symbol table (`.symtab`) and no debug
//! information (`.debug_*`, `.zdebug_*`). `inspay release check` proves it on the artefact
//! before a release is signed, and the production start-up proves it on the running binary,
//! both with [`strip_findings`].

use std::io::{Read, Seek, SeekFrom};

/// Largest section-name table read, in bytes.
const SECTION_NAMES_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Most sections read (a real executable has tens).
const SECTIONS_MAX: u64 = 1 << 20;
/// `SHN_XINDEX`: the section-name table's index is in section 0's `sh_link`.
const SHN_XINDEX: u16 = 0xffff;

/// Why the section table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not an ELF file, or its headers are inconsistent.
    #[error("not a readable ELF file: {0}")]
    Malformed(String),
}

fn malformed(reason: impl Into<String>) -> ElfError {
    ElfError::Malformed(reason.into())
}

/// The finding for a section name, if it is a symbol table or debug information.
fn finding(name: &str) -> Option<String> {
    if name == ".symtab" {
        Some(format!(
            "section {name}: the symbol table is present (not stripped)"
        ))
    } else if name.starts_with(".debug_") || name.starts_with(".zdebug_") {
        Some(format!("section {name}: debug information is present"))
    } else {
        None
    }
}

/// One line per symbol-table or debug section of the ELF file; empty for a stripped one.
pub fn strip_findings(file: &mut (impl Read + Seek)) -> Result<Vec<String>, ElfError> {
    Ok(section_names(file)?
        .iter()
        .filter_map(|name| finding(name))
        .collect())
}

/// A little- or big-endian reader of ELF header fields.
struct Fields<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Fields<'_> {
    fn unsigned(&self, at: usize, width: usize) -> Result<u64, ElfError> {
        let field = self
            .bytes
            .get(at..at + width)
            .ok_or_else(|| malformed("a header field lies outside the file"))?;
        let mut value = 0u64;
        for index in 0..width {
            let byte = if self.little {
                field[width - 1 - index]
            } else {
                field[index]
            };
            value = (value << 8) | u64::from(byte);
        }
        Ok(value)
    }
}

fn size(value: u64) -> Result<usize, ElfError> {
    usize::try_from(value).map_err(|_| malformed("a size does not fit in memory"))
}

/// Where the section-header table is: (offset, entry size, count, name-table index, wide,
/// little-endian).
struct Layout {
    offset: u64,
    entry_size: usize,
    count: u64,
    names_index: u64,
    wide: bool,
    little: bool,
}

fn layout(file: &mut impl Read) -> Result<Layout, ElfError> {
    let mut header = [0u8; 64];
    file.read_exact(&mut header)
        .map_err(|_| malformed("too short for an ELF header"))?;
    if header[..4] != *b"\x7fELF" {
        return Err(malformed("no ELF magic"));
    }
    let wide = match header[4] {
        1 => false,
        2 => true,
        other => return Err(malformed(format!("unknown ELF class {other}"))),
    };
    let little = match header[5] {
        1 => true,
        2 => false,
        other => return Err(malformed(format!("unknown ELF byte order {other}"))),
    };
    let fields = Fields {
        bytes: &header,
        little,
    };
    let (offset, entry_size, count, names_index) = if wide {
        (
            fields.unsigned(0x28, 8)?,
            fields.unsigned(0x3a, 2)?,
            fields.unsigned(0x3c, 2)?,
            fields.unsigned(0x3e, 2)?,
        )
    } else {
        (
            fields.unsigned(0x20, 4)?,
            fields.unsigned(0x2e, 2)?,
            fields.unsigned(0x30, 2)?,
            fields.unsigned(0x32, 2)?,
        )
    };
    Ok(Layout {
        offset,
        entry_size: size(entry_size)?,
        count,
        names_index,
        wide,
        little,
    })
}

/// The names of the sections, from the section-header table.
pub fn section_names(file: &mut (impl Read + Seek)) -> Result<Vec<String>, ElfError> {
    file.seek(SeekFrom::Start(0))?;
    let layout = layout(file)?;
    if layout.offset == 0 {
        return Ok(Vec::new());
    }
    let (wide, little) = (layout.wide, layout.little);
    let minimum = if wide { 64 } else { 40 };
    if layout.entry_size < minimum {
        return Err(malformed(format!(
            "section headers of {} bytes",
            layout.entry_size
        )));
    }
    let mut read_entry = |index: u64| -> Result<Vec<u8>, ElfError> {
        let mut entry = vec![0u8; layout.entry_size];
        let at = index
            .checked_mul(layout.entry_size as u64)
            .and_then(|at| at.checked_add(layout.offset))
            .ok_or_else(|| malformed("a section header lies outside the file"))?;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut entry)
            .map_err(|_| malformed("a section header lies outside the file"))?;
        Ok(entry)
    };
    // Sections beyond 0xff00 are counted in section 0's size; the name table's index
    // beyond that in section 0's link.
    let first = read_entry(0)?;
    let first_fields = Fields {
        bytes: &first,
        little,
    };
    let count = if layout.count == 0 {
        first_fields.unsigned(if wide { 32 } else { 20 }, if wide { 8 } else { 4 })?
    } else {
        layout.count
    };
    if count > SECTIONS_MAX {
        return Err(malformed(format!("{count} sections")));
    }
    let names_index = if layout.names_index == u64::from(SHN_XINDEX) {
        first_fields.unsigned(if wide { 40 } else { 24 }, 4)?
    } else {
        layout.names_index
    };
    let entries = (0..count)
        .map(&mut read_entry)
        .collect::<Result<Vec<_>, _>>()?;
    let location = |entry: &[u8]| -> Result<(u64, u64, u64), ElfError> {
        let fields = Fields {
            bytes: entry,
            little,
        };
        Ok(if wide {
            (
                fields.unsigned(0, 4)?,
                fields.unsigned(24, 8)?,
                fields.unsigned(32, 8)?,
            )
        } else {
            (
                fields.unsigned(0, 4)?,
                fields.unsigned(16, 4)?,
                fields.unsigned(20, 4)?,
            )
        })
    };
    let names_entry = entries
        .get(size(names_index)?)
        .ok_or_else(|| malformed("the section-name table index is out of range"))?;
    let (_, names_offset, names_size) = location(names_entry)?;
    if names_size > SECTION_NAMES_BYTES_MAX {
        return Err(malformed(format!(
            "a section-name table of {names_size} bytes"
        )));
    }
    let mut names = vec![0u8; size(names_size)?];
    file.seek(SeekFrom::Start(names_offset))?;
    file.read_exact(&mut names)
        .map_err(|_| malformed("the section-name table lies outside the file"))?;
    entries
        .iter()
        .map(|entry| {
            let (name_at, _, _) = location(entry)?;
            let tail = names
                .get(size(name_at)?..)
                .ok_or_else(|| malformed("a section name lies outside its table"))?;
            let end = tail
                .iter()
                .position(|&byte| byte == 0)
                .unwrap_or(tail.len());
            Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A minimal 64-bit little-endian ELF with the named sections (and `.shstrtab`).
    fn synthetic_elf(section_names: &[&str]) -> Vec<u8> {
        let mut names = vec![0u8];
        let mut offsets = Vec::new();
        for name in section_names.iter().chain([".shstrtab"].iter()) {
            offsets.push(names.len() as u32);
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        elf[6] = 1;
        let names_at = elf.len() as u64;
        elf.extend_from_slice(&names);
        let headers_at = elf.len() as u64;
        let count = section_names.len() + 2;
        elf.extend(vec![0u8; 64]);
        for (index, name_at) in offsets.iter().enumerate() {
            let mut header = vec![0u8; 64];
            header[..4].copy_from_slice(&name_at.to_le_bytes());
            if index == offsets.len() - 1 {
                header[24..32].copy_from_slice(&names_at.to_le_bytes());
                header[32..40].copy_from_slice(&(names.len() as u64).to_le_bytes());
            }
            elf.extend(header);
        }
        elf[0x28..0x30].copy_from_slice(&headers_at.to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&(count as u16).to_le_bytes());
        elf[0x3e..0x40].copy_from_slice(&((count - 1) as u16).to_le_bytes());
        elf
    }

    /// A stripped executable has no finding; a symbol table or any debug section is one.
    /// req: 5.4.3.1, 6.3.4
    #[test]
    fn symbols_and_debug_sections_are_found() {
        let stripped = synthetic_elf(&[".text", ".rodata"]);
        assert_eq!(
            section_names(&mut Cursor::new(&stripped)).expect("names"),
            ["", ".text", ".rodata", ".shstrtab"]
        );
        assert!(
            strip_findings(&mut Cursor::new(stripped))
                .expect("read")
                .is_empty()
        );
        let unstripped = synthetic_elf(&[".text", ".symtab", ".debug_info", ".zdebug_line"]);
        let findings = strip_findings(&mut Cursor::new(unstripped)).expect("read");
        assert_eq!(findings.len(), 3, "{findings:?}");
        assert!(findings[0].contains(".symtab"), "{findings:?}");
    }

    /// The unstripped test binary itself is found out.
    /// req: 5.4.3.1
    #[test]
    fn this_unstripped_test_binary_has_findings() {
        let path = std::env::current_exe().expect("this binary");
        let mut file = std::fs::File::open(path).expect("open");
        let findings = strip_findings(&mut file).expect("an ELF file");
        assert!(
            findings.iter().any(|line| line.contains(".symtab")),
            "{findings:?}"
        );
    }

    /// Input that is not ELF, or whose headers point outside the file, is an error, never a
    /// panic or an empty (stripped-looking) answer.
    #[test]
    fn malformed_input_is_an_error() {
        assert!(strip_findings(&mut Cursor::new(b"#!/bin/sh\necho hi\n".to_vec())).is_err());
        let mut truncated = synthetic_elf(&[".text"]);
        truncated.truncate(100);
        assert!(strip_findings(&mut Cursor::new(truncated)).is_err());
        let mut bad_index = synthetic_elf(&[".text"]);
        bad_index[0x3e..0x40].copy_from_slice(&40u16.to_le_bytes());
        assert!(strip_findings(&mut Cursor::new(bad_index)).is_err());
    }
}
