package detectors_test

import (
	"fmt"
	"testing"

	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// atypicalPopulation adds a population whose diagnoses follow age: 600
// adults (40–79) with strokes, hypertension, some asthma and a little
// varicella; 600 children (3–10) with respiratory infections, asthma and
// varicella; 40 infants with perinatal conditions; 60 women of 25–38 with
// deliveries. Each person has a few diagnosed outpatient visits.
func atypicalPopulation(b pipelinetest.Batch) {
	n := 0
	person := func(sex, birth string) string {
		n++
		id := fmt.Sprintf("PA%04d", n)
		b["persons"] = append(b["persons"], pipelinetest.Row{id, pipelinetest.IDNumber("420102", birth[:4]+birth[5:7]+birth[8:10], fmt.Sprintf("%03d", n%1000)),
			"测试", sex, birth, "420102", "resident", "", "", ""})
		return id
	}
	visit := func(p, dx string, k int) {
		impAdd(b, "settlements", 0, map[string]string{"settlement_id": fmt.Sprintf("V%s-%d", p, k), "person_id": p, "card_no": "K" + p,
			"visit_type": "outpatient", "admitted_at": fmt.Sprintf("2025-%02d-10 09:00:00", 2+k), "discharged_at": "",
			"diagnosis_code": dx, "settled_at": fmt.Sprintf("2025-%02d-10 10:00:00", 2+k)})
	}
	for i := range 600 {
		p := person(fmt.Sprint(1+i%2), fmt.Sprintf("%d-04-01", 1946+i%40))
		dx := []string{"I63.900", "I10.x00", "E11.900", "J18.900", "I25.103"}[i%5]
		visit(p, dx, 0)
		visit(p, "I10.x00", 1)
		if i%30 == 0 {
			visit(p, "J45.900", 2)
		}
		if i%75 == 0 {
			visit(p, "B01.900", 3)
		}
	}
	for i := range 600 {
		p := person(fmt.Sprint(1+i%2), fmt.Sprintf("%d-06-01", 2015+i%8))
		visit(p, []string{"J06.900", "J18.900", "J45.900", "B01.900", "J06.900"}[i%5], 0)
		visit(p, "J06.900", 1)
	}
	for i := range 40 {
		p := person(fmt.Sprint(1+i%2), "2025-01-05")
		visit(p, []string{"P59.900", "P07.300"}[i%2], 0)
	}
	for i := range 60 {
		p := person("2", fmt.Sprintf("%d-02-01", 1987+i%13))
		visit(p, "O80.000", 0)
		visit(p, "N39.000", 1)
	}
}

func TestImpersonationAtypicalDiagnosis(t *testing.T) {
	add := func(b pipelinetest.Batch, id, sex, birth, dx string) {
		b["persons"] = append(b["persons"], pipelinetest.Row{"Q" + id, pipelinetest.IDNumber("420102", birth[:4]+birth[5:7]+birth[8:10], "135"),
			"测试", sex, birth, "420102", "resident", "", "", ""})
		impStay(b, id, "Q"+id, "KQ"+id, "H33010600001", "2025-09-02 09:00:00", "2025-09-08 10:00:00", dx)
	}
	impRun(t, "impersonation.atypical_diagnosis", []impCase{
		{name: "a stroke on a 9-year-old's card", change: func(b pipelinetest.Batch) {
			atypicalPopulation(b)
			add(b, "S901", "1", "2016-03-01", "I63.900")
		}, want: []string{"S901"}, evidence: []string{"I63.900", `"value":"4-14"`, "prior_rate", "posterior_rate", "band_rate", `"age":9`}},
		{name: "a delivery on a 70-year-old woman's card", change: func(b pipelinetest.Batch) {
			atypicalPopulation(b)
			add(b, "S902", "2", "1955-01-01", "O80.000")
		}, want: []string{"S902"}, evidence: []string{"O80.000", "relative_rate"}},
		{name: "newborn jaundice on the mother's card (新生儿随母) is not impersonation", change: func(b pipelinetest.Batch) {
			atypicalPopulation(b)
			add(b, "S903", "2", "1994-05-01", "P59.900")
		}, not: []string{"S903"}},
		{name: "asthma and varicella in adults do occur", change: func(b pipelinetest.Batch) {
			atypicalPopulation(b)
			add(b, "S904", "1", "1970-05-01", "J45.900")
			add(b, "S905", "2", "1985-05-01", "B01.900")
		}, not: []string{"S904", "S905"}},
		{name: "a small band does not fire alone: a stroke on a child's card among few visits", change: func(b pipelinetest.Batch) {
			add(b, "S906", "1", "2016-03-01", "I63.900")
		}, not: []string{"S906"}},
	})
}
