//! A small Rust lexer: which characters are code, which are comments, which are literals.

/// A string literal (plain, raw, byte or C string) found in Rust source.
pub struct Literal {
    /// Index, in characters, of the literal's first character (its prefix or quote).
    pub start: usize,
    /// The text between the quotes, escapes left as written.
    pub content: String,
}

/// Rust source split into code and literals.
pub struct Lexed {
    /// The source with every comment and literal blanked to spaces (newlines kept), so that
    /// searching it finds code only and indexes match the source.
    pub code: Vec<char>,
    pub literals: Vec<Literal>,
    /// Index of each line's first character.
    line_starts: Vec<usize>,
}

impl Lexed {
    pub fn line_of(&self, index: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= index)
    }
}

pub fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn blank(code: &mut [char], from: usize, to: usize) {
    for c in &mut code[from..to] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

pub fn lex(source: &str) -> Lexed {
    let chars: Vec<char> = source.chars().collect();
    let mut code = chars.clone();
    let mut literals = Vec::new();
    let mut line_starts = vec![0];
    for (index, &c) in chars.iter().enumerate() {
        if c == '\n' {
            line_starts.push(index + 1);
        }
    }
    let at = |index: usize| chars.get(index).copied().unwrap_or('\0');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let previous_is_ident = i > 0 && is_ident_char(chars[i - 1]);
        if c == '/' && at(i + 1) == '/' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |offset| i + offset);
            blank(&mut code, i, end);
            i = end;
        } else if c == '/' && at(i + 1) == '*' {
            let end = block_comment_end(&chars, i);
            blank(&mut code, i, end);
            i = end;
        } else if let Some((quote, hashes)) = raw_string_start(&chars, i, previous_is_ident) {
            let end = raw_string_end(&chars, quote + 1, hashes);
            let content_end = end.saturating_sub(1 + hashes).max(quote + 1);
            literals.push(Literal {
                start: i,
                content: chars[quote + 1..content_end].iter().collect(),
            });
            blank(&mut code, i, end);
            i = end;
        } else if let Some(quote) = string_start(&chars, i, previous_is_ident) {
            let end = string_end(&chars, quote + 1);
            literals.push(Literal {
                start: i,
                content: chars[quote + 1..end.saturating_sub(1).max(quote + 1)]
                    .iter()
                    .collect(),
            });
            blank(&mut code, i, end);
            i = end;
        } else if c == '\'' {
            let end = char_literal_end(&chars, i);
            blank(&mut code, i, end);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    Lexed {
        code,
        literals,
        line_starts,
    }
}

/// End (exclusive) of a block comment starting at `start`; block comments nest.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < chars.len() {
        if chars[i] == '/' && chars[i + 1] == '*' {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars[i + 1] == '/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// `r"`, `r#"`, `br"`, `cr#"` and so on: the index of the opening quote and the number of `#`.
fn raw_string_start(chars: &[char], i: usize, previous_is_ident: bool) -> Option<(usize, usize)> {
    if previous_is_ident {
        return None;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((j, hashes))
}

fn raw_string_end(chars: &[char], mut i: usize, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    chars.len()
}

/// `"`, `b"` or `c"`: the index of the opening quote.
fn string_start(chars: &[char], i: usize, previous_is_ident: bool) -> Option<usize> {
    match chars[i] {
        '"' => Some(i),
        'b' | 'c' if !previous_is_ident && chars.get(i + 1) == Some(&'"') => Some(i + 1),
        _ => None,
    }
}

fn string_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// End of a character literal at `start`, or `start + 1` for a lifetime or label (`'a`).
fn char_literal_end(chars: &[char], start: usize) -> usize {
    let next = chars.get(start + 1).copied();
    if next == Some('\\') {
        let mut i = start + 3;
        while i < chars.len() && chars[i] != '\'' && chars[i] != '\n' {
            i += 1;
        }
        return (i + 1).min(chars.len());
    }
    if next.is_some() && chars.get(start + 2) == Some(&'\'') {
        return start + 3;
    }
    start + 1
}

/// Identifiers in code, with their character index. `r#name` raw identifiers are skipped:
/// they are names, never keywords.
pub fn identifiers(code: &[char]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if is_ident_char(code[i]) && (i == 0 || !is_ident_char(code[i - 1])) {
            let end = code[i..]
                .iter()
                .position(|&c| !is_ident_char(c))
                .map_or(code.len(), |offset| i + offset);
            let raw = i >= 2 && code[i - 1] == '#' && code[i - 2] == 'r';
            if !raw && !code[i].is_ascii_digit() {
                found.push((i, code[i..end].iter().collect()));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// The first non-blank code after `index`, for messages.
pub fn code_after(code: &[char], index: usize) -> String {
    code[index..]
        .iter()
        .take_while(|&&c| c != '\n')
        .take(40)
        .collect::<String>()
        .trim()
        .to_string()
}
