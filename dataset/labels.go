package dataset

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// isSynset reports whether s is a WordNet synset id as ImageNet uses them:
// 'n' and eight digits.
func isSynset(s string) bool {
	if len(s) != 9 || s[0] != 'n' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// LabelsFromImageNames reads a synset table and returns a LabelFunc for
// image files whose names start with their synset, ImageNet style
// ("n01440764_tench.JPEG", "n01440764.jpg"; folders in the name are
// ignored). The table is either tab-separated with a class index and a
// synset on each line (as labels_all_1000.tsv: "0<TAB>n01440764<TAB>tench
// ..."; field order free), or one synset per line at the start of the line
// with the class index given by the line's position from 0 (as
// synset.txt: "n01440764 tench, Tinca tinca"). Names with no synset, or one
// the table lacks, get no label.
func LabelsFromImageNames(table string) (LabelFunc, error) {
	f, err := os.Open(table)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	line, pos := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var syn string
		idx := -1
		if fields := strings.Split(text, "\t"); len(fields) >= 2 {
			for _, fl := range fields {
				fl = strings.TrimSpace(fl)
				if isSynset(fl) && syn == "" {
					syn = fl
				} else if n, err := strconv.Atoi(fl); err == nil && idx < 0 {
					idx = n
				}
			}
		} else if first := strings.Fields(text)[0]; isSynset(first) {
			syn, idx = first, pos
		}
		if syn == "" || idx < 0 {
			return nil, fmt.Errorf("dataset: %s:%d: expected a synset and a class index: %q", table, line, text)
		}
		if _, dup := m[syn]; dup {
			return nil, fmt.Errorf("dataset: %s:%d: synset %s listed twice", table, line, syn)
		}
		m[syn] = idx
		pos++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", table, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("dataset: %s: no synsets", table)
	}
	return func(name string) (int, bool) {
		base := path.Base(strings.ReplaceAll(name, `\`, "/"))
		if len(base) < 9 || !isSynset(base[:9]) {
			return 0, false
		}
		v, ok := m[base[:9]]
		return v, ok
	}, nil
}

// LabelsFromFile reads a labels file, one "name<TAB>index" or
// "name,index" line per sample (blank lines and '#' comments ignored; a
// first line whose index is not a number is taken as a header), and
// returns a LabelFunc. A sample name matches a line's name exactly, or by
// base name, or by base name without extension, in that order.
func LabelsFromFile(file string) (LabelFunc, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	line, first := 0, true
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		i := strings.LastIndexAny(text, "\t,")
		if i < 0 {
			return nil, fmt.Errorf("dataset: %s:%d: expected name<TAB>index or name,index: %q", file, line, text)
		}
		name, num := strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:])
		n, err := strconv.Atoi(num)
		if err != nil {
			if first {
				first = false
				continue // header
			}
			return nil, fmt.Errorf("dataset: %s:%d: class index %q is not a number", file, line, num)
		}
		first = false
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("dataset: %s:%d: %q listed twice", file, line, name)
		}
		m[name] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", file, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("dataset: %s: no labels", file)
	}
	return func(name string) (int, bool) {
		if v, ok := m[name]; ok {
			return v, true
		}
		base := path.Base(strings.ReplaceAll(name, `\`, "/"))
		if v, ok := m[base]; ok {
			return v, true
		}
		v, ok := m[strings.TrimSuffix(base, path.Ext(base))]
		return v, ok
	}, nil
}
