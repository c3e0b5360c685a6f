//! Go's text/tabwriter, which lays out Docker's tables.

/// Go's text/tabwriter with flags 0, as docker/cli vendors it (cells are
/// measured in terminal columns). Cells end at a tab; the text after a line's
/// last tab belongs to no column. A column is as wide as its widest cell plus
/// padding, at least minwidth, but only over a *block*: consecutive lines that
/// all have a cell in that column. A line with fewer cells ends the block, so
/// the same column index in later lines is sized afresh.
pub(super) struct TabWriter {
    pub(super) minwidth: usize,
    pub(super) padding: usize,
    pub(super) padchar: char,
}

impl TabWriter {
    pub(super) fn write(&self, text: &str) -> String {
        let mut out = String::new();
        // A form feed ends every block, like a flush, and prints as a newline.
        for (k, section) in text.split('\x0c').enumerate() {
            if k > 0 {
                out.push('\n');
            }
            let lines: Vec<Vec<&str>> =
                section.split('\n').map(|l| l.split(['\t', '\x0b']).collect()).collect();
            self.format(&mut out, &lines, &mut Vec::new(), 0, lines.len());
        }
        out
    }

    /// Go's `format`: lays out lines `line0..line1` whose first `widths.len()`
    /// columns are already sized, sizing the next column block by block.
    fn format(
        &self,
        out: &mut String,
        lines: &[Vec<&str>],
        widths: &mut Vec<usize>,
        line0: usize,
        line1: usize,
    ) {
        let column = widths.len();
        let (mut line0, mut this) = (line0, line0);
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(out, lines, widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(display_width(lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(out, lines, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, lines, widths, line0, line1);
    }

    fn write_lines(
        &self,
        out: &mut String,
        lines: &[Vec<&str>],
        widths: &[usize],
        line0: usize,
        line1: usize,
    ) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if let Some(&width) = widths.get(j) {
                    let fill = width.saturating_sub(display_width(cell));
                    out.extend(std::iter::repeat_n(self.padchar, fill));
                }
            }
            if i + 1 < lines.len() {
                out.push('\n');
            }
        }
    }
}

/// Terminal columns of a cell, as go-runewidth counts them: combining marks
/// and controls take none, East Asian wide characters and emoji take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0..=0x1F | 0x7F..=0x9F | 0x300..=0x36F | 0x200B..=0x200F | 0x20D0..=0x20FF => 0,
            0xFE00..=0xFE0F | 0xFE20..=0xFE2F => 0,
            0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF => 2,
            0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 => 2,
            0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::TabWriter;
    use crate::template::tabwrite;

    /// docker/cli's TestImageContextWrite, default table.
    #[test]
    fn docker_images_default_table() {
        let lines: Vec<String> = [
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE",
            "image\ttag1\timageID1\t24 hours ago\t0B",
            "image\ttag2\timageID2\tN/A\t0B",
            "<none>\t<none>\timageID3\t24 hours ago\t0B",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            tabwrite(&lines),
            "REPOSITORY   TAG       IMAGE ID   CREATED        SIZE
image        tag1      imageID1   24 hours ago   0B
image        tag2      imageID2   N/A            0B
<none>       <none>    imageID3   24 hours ago   0B
"
        );
    }

    /// Cases from docker/cli's copy of Go's tabwriter_test.go, which show the
    /// column-block rule and display widths.
    #[test]
    fn tabwriter_column_blocks() {
        let write =
            |minwidth, padding, padchar, text: &str| TabWriter { minwidth, padding, padchar }.write(text);
        assert_eq!(write(5, 0, '.', "1\t2\t3\t4\t\n"), "1....2....3....4....\n");
        assert_eq!(write(2, 0, ' ', "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n"), "a  b  c\naa bbbcccc\naaabbbb\n");
        assert_eq!(
            write(8, 1, '.', "本\tb\tc\naa\t\u{672c}\u{672c}\u{672c}\tcccc\tddddd\naaa\tbbbb\n"),
            "本......b.......c\naa......本本本..cccc....ddddd\naaa.....bbbb\n"
        );
        assert_eq!(
            write(
                4,
                1,
                '-',
                "4444\t日本語\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n"
            ),
            "4444------日本語-22--1---333\n999999999-22\n7---------22\n------------------88888888\n\n666666-666666-666666----4444\n1------1------999999999-0000000000\n"
        );
    }
}
