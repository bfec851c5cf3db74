package reports

import (
	"bytes"
	"embed"
	"html/template"
)

//go:embed assets/chart.umd.min.js
var chartJS string

//go:embed templates/report.html
var templates embed.FS

var page = template.Must(template.ParseFS(templates, "templates/report.html"))

// document is one HTML report: a title, key facts, and sections that each
// hold an optional chart and the table with the chart's numbers.
type document struct {
	Title, TitleEN string
	Meta           [][2]string // label, value
	Sections       []section
	Generator      string
}

type section struct {
	ID, Title, TitleEN, Note string
	Chart                    *chart
	Table                    *table
}

// chart is drawn by the report's script with Chart.js. Values are decimal
// strings (money from contract.Fen) that the script turns into numbers.
type chart struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"` // bar | line
	Labels     []string  `json:"labels"`
	Datasets   []dataset `json:"datasets"`
	Stacked    bool      `json:"stacked"`
	Horizontal bool      `json:"horizontal"`
	Y          string    `json:"y"`  // value axis title
	Y2         string    `json:"y2"` // right axis title, for datasets with Axis "y2"
}

type dataset struct {
	Label string   `json:"label"`
	Data  []string `json:"data"`
	Type  string   `json:"type,omitempty"`
	Axis  string   `json:"axis,omitempty"`
	Stack string   `json:"stack,omitempty"`
}

// render writes the document as one self-contained HTML file: the styles,
// Chart.js and the chart data are inline, so an archived report works
// offline. html/template escapes every value from the data.
func (d document) render() ([]byte, error) {
	var charts []chart
	for i := range d.Sections {
		if c := d.Sections[i].Chart; c != nil {
			c.ID = d.Sections[i].ID
			charts = append(charts, *c)
		}
	}
	var buf bytes.Buffer
	err := page.Execute(&buf, struct {
		document
		Charts  []chart
		ChartJS template.JS
	}{d, charts, template.JS(chartJS)})
	return buf.Bytes(), err
}
