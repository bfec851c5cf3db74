package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCalibrationOverAPI: an alarm is listed to the staff of every
// district with examples from their own districts only, shown on the
// auditor's home page, and released by an auditor over the API: its held
// flag reopens, a case opens for it and the release is an audit event.
func TestCalibrationOverAPI(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{
		`INSERT INTO flags VALUES ('F9', 1, 1, 'impersonation.id_inconsistent', 'impersonation', 'settlement', 'S002', 'P33010600002',
			0.7, 120.00, 'absolute', '{"title":"身份证号与性别不符","summary":"身份证号性别位与登记性别不符","facts":{"sex_off":true}}', 'suppressed', NULL)`,
		`INSERT INTO calibration_alarms VALUES ('A1', 'impersonation.id_inconsistent', 'impersonation', 'settlements', '*', '*', '*',
			1000, 480, 0.48, 0.01, 12, 0.47, 57600.00,
			'[{"flag_id":"F9","subject_id":"S002","org_code":"P33010600002","summary":"身份证号性别位与登记性别不符"},
			  {"flag_id":"F8","subject_id":"S777","org_code":"H33010200009","summary":"上城区的例子"}]',
			'[]', '性别编码口径不同', 1, 1, 'open', NULL, NULL, NULL)`,
		`INSERT INTO calibration_alarm_flags VALUES ('A1', 'F9')`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	xihu := e.client(t).login("aud_xihu")
	status, body, _ := xihu.do("GET", "/api/v1/calibration", nil, nil)
	var list struct {
		Alarms []struct {
			ID       string           `json:"alarm_id"`
			Share    float64          `json:"share"`
			Message  string           `json:"message"`
			Examples []map[string]any `json:"examples"`
		} `json:"alarms"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Alarms) != 1 {
		t.Fatalf("list: %d %s", status, body)
	}
	a := list.Alarms[0]
	if a.ID != "A1" || a.Share != 0.48 || !strings.Contains(a.Message, "48.0%") || len(a.Examples) != 1 || a.Examples[0]["org_code"] != "P33010600002" {
		t.Errorf("alarm as the Xihu auditor sees it: %+v", a)
	}
	if strings.Contains(body, "S777") {
		t.Error("an example of another district leaked")
	}
	if _, home, _ := xihu.do("GET", "/", nil, nil); !strings.Contains(home, "校准告警") || !strings.Contains(home, "性别编码口径不同") {
		t.Error("the home page does not show the alarm")
	}
	resolve := func(c *client, body string) (int, string) {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/calibration/A1/resolve", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.csrf)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if status, body := resolve(xihu, `{"resolution":"ignored","note":"x"}`); status != http.StatusBadRequest {
		t.Errorf("a bad resolution: %d %s", status, body)
	}
	status, body = resolve(xihu, `{"resolution":"released","note":"核实：身份证号与性别确实不符"}`)
	if status != http.StatusOK || !strings.Contains(body, `"flags_released":1`) || !strings.Contains(body, `"opened":1`) {
		t.Fatalf("release: %d %s", status, body)
	}
	var flagStatus string
	var cases, events int
	if err := e.db.QueryRow(`SELECT status FROM flags WHERE flag_id = 'F9'`).Scan(&flagStatus); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM case_flags WHERE flag_id = 'F9'`).Scan(&cases); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events WHERE case_id = 'A1' AND kind = 'calibration_resolved' AND actor = 'user:aud_xihu'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if flagStatus != "open" || cases != 1 || events != 1 {
		t.Errorf("after release: flag %s, in %d cases, %d events", flagStatus, cases, events)
	}
	if status, _ := resolve(xihu, `{"resolution":"fixed","note":"again"}`); status != http.StatusConflict {
		t.Errorf("resolved twice: %d", status)
	}
	status, body, _ = xihu.do("GET", "/api/v1/institutions/ranking", nil, nil)
	var rk struct {
		Institutions []struct {
			Org     string   `json:"org_code"`
			Region  string   `json:"region_code"`
			Reasons []string `json:"reasons"`
		} `json:"institutions"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &rk) != nil || len(rk.Institutions) == 0 {
		t.Fatalf("ranking: %d %s", status, body)
	}
	for _, r := range rk.Institutions {
		if r.Region != "330106" || len(r.Reasons) == 0 {
			t.Errorf("ranking row %+v", r)
		}
	}
}
