// Package table renders every table the CLI prints, so all commands share
// one look: tablewriter with ASCII borders on a terminal or in logs, and
// Markdown when asked for (for pasting into a pull request).
package table

import (
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Style selects the renderer.
type Style int

const (
	ASCII Style = iota
	Markdown
)

// Write renders header and rows to w. Columns whose index is in right are
// right-aligned (numbers); the others are left-aligned.
func Write(w io.Writer, style Style, header []string, rows [][]string, right ...int) error {
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignLeft
	}
	for _, i := range right {
		if i >= 0 && i < len(align) {
			align[i] = tw.AlignRight
		}
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithAlignment(align),
	}
	if style == Markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	} else {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})))
	}
	t := tablewriter.NewTable(w, opts...)
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}
