package condition_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

// evalCase is one condition evaluated against one result.
type evalCase struct {
	name   string
	cond   string
	result condition.Result
	ok     bool
	// detail is the expected detail, not checked when empty.
	detail string
}

// withBody returns a result whose body is s.
func withBody(s string) condition.Result {
	return condition.Result{Body: []byte(s)}
}

// withStatus returns a result with HTTP status code code.
func withStatus(code int) condition.Result {
	return condition.Result{Status: code}
}

// readmeCases are the examples of the Conditions section of the Gatus
// README: its table of example conditions with their passing and
// failing values, and the examples of its function table.
var readmeCases = []evalCase{
	{"status equal pass", "[STATUS] == 200", withStatus(200), true,
		"[STATUS] (200) == 200"},
	{"status equal fail 201", "[STATUS] == 200", withStatus(201), false,
		"[STATUS] (201) == 200"},
	{"status equal fail 404", "[STATUS] == 200", withStatus(404), false, ""},
	{"status less pass 299", "[STATUS] < 300", withStatus(299), true, ""},
	{"status less fail 301", "[STATUS] < 300", withStatus(301), false, ""},
	{"status less equal pass 299", "[STATUS] <= 299", withStatus(299), true, ""},
	{"status less equal fail 301", "[STATUS] <= 299", withStatus(301), false, ""},
	{"status greater pass 401", "[STATUS] > 400", withStatus(401), true, ""},
	{"status greater fail 400", "[STATUS] > 400", withStatus(400), false, ""},
	{"status greater fail 200", "[STATUS] > 400", withStatus(200), false, ""},
	{"status any pass 429", "[STATUS] == any(200, 429)", withStatus(429), true,
		"[STATUS] (429) == any(200, 429)"},
	{"status any fail 201", "[STATUS] == any(200, 429)", withStatus(201), false, ""},
	{"connected pass", "[CONNECTED] == true",
		condition.Result{Connected: true}, true, "[CONNECTED] (true) == true"},
	{"connected fail", "[CONNECTED] == true",
		condition.Result{}, false, "[CONNECTED] (false) == true"},
	{"response time pass 300ms", "[RESPONSE_TIME] < 500",
		condition.Result{ResponseTime: 300 * time.Millisecond}, true,
		"[RESPONSE_TIME] (300) < 500"},
	{"response time fail 500ms", "[RESPONSE_TIME] < 500",
		condition.Result{ResponseTime: 500 * time.Millisecond}, false, ""},
	{"response time fail 501ms", "[RESPONSE_TIME] < 500",
		condition.Result{ResponseTime: 501 * time.Millisecond}, false, ""},
	{"ip pass", "[IP] == 127.0.0.1",
		condition.Result{IP: "127.0.0.1"}, true, "[IP] (127.0.0.1) == 127.0.0.1"},
	{"ip fail", "[IP] == 127.0.0.1",
		condition.Result{IP: "0.0.0.0"}, false, ""},
	{"body pass", "[BODY] == 1", withBody("1"), true, "[BODY] (1) == 1"},
	{"body fail object", "[BODY] == 1", withBody("{}"), false, ""},
	{"body fail 2", "[BODY] == 1", withBody("2"), false, ""},
	{"body path pass", "[BODY].user.name == john",
		withBody(`{"user":{"name":"john"}}`), true,
		"[BODY].user.name (john) == john"},
	{"body array path pass", "[BODY].data[0].id == 1",
		withBody(`{"data":[{"id":1}]}`), true, "[BODY].data[0].id (1) == 1"},
	{"body path both sides", "[BODY].age == [BODY].id",
		withBody(`{"age":1,"id":1}`), true, "[BODY].age (1) == [BODY].id (1)"},
	{"len array pass", "len([BODY].data) < 5",
		withBody(`{"data":[{"id":1}]}`), true, "len([BODY].data) (1) < 5"},
	{"len string pass", "len([BODY].name) == 8",
		withBody(`{"name":"john.doe"}`), true, ""},
	{"len string fail", "len([BODY].name) == 8",
		withBody(`{"name":"bob"}`), false, "len([BODY].name) (3) == 8"},
	{"has false pass", "has([BODY].errors) == false",
		withBody(`{"name":"john.doe"}`), true,
		"has([BODY].errors) (false) == false"},
	{"has false fail", "has([BODY].errors) == false",
		withBody(`{"errors":[]}`), false, ""},
	{"has true pass", "has([BODY].users) == true",
		withBody(`{"users":[]}`), true, ""},
	{"has true fail", "has([BODY].users) == true", withBody(`{}`), false, ""},
	{"pat pass", "[BODY].name == pat(john*)",
		withBody(`{"name":"john.doe"}`), true,
		"[BODY].name (john.doe) == pat(john*)"},
	{"pat fail", "[BODY].name == pat(john*)",
		withBody(`{"name":"bob"}`), false, ""},
	{"any body pass 2", "[BODY].id == any(1, 2)", withBody(`{"id":2}`), true, ""},
	{"any body fail 3", "[BODY].id == any(1, 2)", withBody(`{"id":3}`), false, ""},
	{"certificate pass 49h", "[CERTIFICATE_EXPIRATION] > 48h",
		condition.Result{CertificateExpiration: 49 * time.Hour}, true,
		"[CERTIFICATE_EXPIRATION] (49h0m0s) > 48h"},
	{"certificate fail 24h", "[CERTIFICATE_EXPIRATION] > 48h",
		condition.Result{CertificateExpiration: 24 * time.Hour}, false, ""},
	{"domain pass 4000h", "[DOMAIN_EXPIRATION] > 720h",
		condition.Result{DomainExpiration: 4000 * time.Hour}, true,
		"[DOMAIN_EXPIRATION] (4000h0m0s) > 720h"},
	{"domain fail 24h", "[DOMAIN_EXPIRATION] > 720h",
		condition.Result{DomainExpiration: 24 * time.Hour}, false, ""},
	{"len username", "len([BODY].username) > 8",
		withBody(`{"username":"administrator"}`), true, ""},
	{"ip pattern", "[IP] == pat(192.168.*)",
		condition.Result{IP: "192.168.0.232"}, true, ""},
	{"ip any v6", "[BODY].ip == any(127.0.0.1, ::1)",
		withBody(`{"ip":"::1"}`), true, ""},
	{"dns rcode", "[DNS_RCODE] == NOERROR",
		condition.Result{DNSRcode: "NOERROR"}, true,
		"[DNS_RCODE] (NOERROR) == NOERROR"},
	{"dns rcode fail", "[DNS_RCODE] == NOERROR",
		condition.Result{DNSRcode: "NXDOMAIN"}, false, ""},
	{"body status up", "[BODY].status == UP",
		withBody(`{"status":"UP"}`), true, "[BODY].status (UP) == UP"},
}

// semanticCases cover the rules beyond the README examples.
var semanticCases = []evalCase{
	{"not equal pass", "[STATUS] != 500", withStatus(200), true, ""},
	{"not equal fail", "[STATUS] != 200", withStatus(200), false, ""},
	{"greater equal pass", "[STATUS] >= 200", withStatus(200), true, ""},
	{"greater equal fail", "[STATUS] >= 200", withStatus(199), false, ""},
	{"status any three", "[STATUS] == any(200, 201, 204)", withStatus(204),
		true, "[STATUS] (204) == any(200, 201, 204)"},
	{"not any pass", "[STATUS] != any(500, 503)", withStatus(200), true, ""},
	{"not any fail", "[STATUS] != any(500, 503)", withStatus(503), false, ""},
	{"not pat pass", "[BODY] != pat(*error*)", withBody("all ok"), true, ""},
	{"not pat fail", "[BODY] != pat(*error*)", withBody("an error"), false, ""},
	{"pat whole body", "[BODY] == pat(*ok*)", withBody("status: ok\n"), true,
		`[BODY] ("status: ok\n") == pat(*ok*)`},
	{"pat contains", "[BODY].name == pat(*john*)",
		withBody(`{"name":"big john doe"}`), true, ""},
	{"pat on left", "pat(2*) == [STATUS]", withStatus(204), true, ""},
	{"pat star is literal elsewhere", "[BODY] == pat(a?c)", withBody("abc"),
		false, ""},
	{"pat star matches empty", "[BODY] == pat(a*b*c)", withBody("abc"), true, ""},
	{"pat needs suffix", "[BODY] == pat(a*c)", withBody("abcd"), false, ""},
	{"number equal as number", "[BODY].price == 24.99",
		withBody(`{"price":24.990}`), true, ""},
	{"integer leading zero", "[BODY] == 007", withBody("7"), true, ""},
	{"big integers exact", "[BODY].id == 12345678901234567890",
		withBody(`{"id":12345678901234567891}`), false, ""},
	{"string not number", "[BODY].v == 1.0", withBody(`{"v":"1.0"}`), true, ""},
	{"string compare", "[BODY].v == abc", withBody(`{"v":"abd"}`), false, ""},
	{"ordering on text fails", "[BODY].v > 1", withBody(`{"v":"x"}`), false, ""},
	{"float ordering", "[BODY].load < 0.75", withBody(`{"load":0.5}`), true, ""},
	{"exponent ordering", "[BODY].n > 1e3", withBody(`{"n":1001}`), true, ""},
	{"missing path fails equal", "[BODY].nope == 1", withBody(`{"a":1}`),
		false, "[BODY].nope (missing) == 1"},
	{"missing path fails not equal", "[BODY].nope != 1", withBody(`{"a":1}`),
		false, ""},
	{"missing path fails pat", "[BODY].nope == pat(*)", withBody(`{}`),
		false, ""},
	{"missing path fails len", "len([BODY].nope) == 0", withBody(`{}`),
		false, "len([BODY].nope) (missing) == 0"},
	{"index out of range", "[BODY].data[3] == 1", withBody(`{"data":[1]}`),
		false, ""},
	{"key on array", "[BODY].data.x == 1", withBody(`{"data":[1]}`), false, ""},
	{"path on non-JSON body", "[BODY].a == 1", withBody("a=1"), false, ""},
	{"has on non-JSON body", "has([BODY].a) == false", withBody("<html>"),
		true, ""},
	{"root array index", "[BODY][1].id == b", withBody(`[{"id":"a"},{"id":"b"}]`),
		true, ""},
	{"nested indexes", "[BODY].m[1][0] == 3", withBody(`{"m":[[1,2],[3,4]]}`),
		true, ""},
	{"key with hyphen", "[BODY].x-y == 1", withBody(`{"x-y":1}`), true, ""},
	{"boolean value", "[BODY].ok == true", withBody(`{"ok":true}`), true, ""},
	{"null value", "[BODY].v == null", withBody(`{"v":null}`), true, ""},
	{"object value minified", "[BODY].o == {\"a\":1}",
		withBody(`{"o": { "a" : 1 }}`), true, ""},
	{"len whole JSON array", "len([BODY]) == 3", withBody(`[1,2,3]`), true, ""},
	{"len text body", "len([BODY]) == 5", withBody("héllo"), true, ""},
	{"len object minified", "len([BODY].o) == 7", withBody(`{"o": {"a": 1}}`),
		true, ""},
	{"len counts characters", "len([BODY].s) == 2", withBody(`{"s":"éé"}`),
		true, ""},
	{"len on left of any", "len([BODY].items) == any(2, 3)",
		withBody(`{"items":[1,2,3]}`), true, ""},
	{"has whole JSON body", "has([BODY]) == true", withBody(`{}`), true, ""},
	{"response time as duration", "[RESPONSE_TIME] < 1s",
		condition.Result{ResponseTime: 999 * time.Millisecond}, true, ""},
	{"response time 1s not below 1s", "[RESPONSE_TIME] < 1s",
		condition.Result{ResponseTime: time.Second}, false, ""},
	{"certificate in milliseconds", "[CERTIFICATE_EXPIRATION] > 1000",
		condition.Result{CertificateExpiration: 2 * time.Second}, true, ""},
	{"no TLS certificate is zero", "[CERTIFICATE_EXPIRATION] == 0",
		condition.Result{}, true, "[CERTIFICATE_EXPIRATION] (0s) == 0"},
	{"certificate just under", "[CERTIFICATE_EXPIRATION] > 48h",
		condition.Result{CertificateExpiration: 48*time.Hour - time.Minute},
		false, "[CERTIFICATE_EXPIRATION] (47h59m0s) > 48h"},
	{"duration on left", "48h < [CERTIFICATE_EXPIRATION]",
		condition.Result{CertificateExpiration: 72 * time.Hour}, true, ""},
	{"domain any durations", "[DOMAIN_EXPIRATION] == any(1h, 2h)",
		condition.Result{DomainExpiration: 2 * time.Hour}, true, ""},
	{"literal with spaces", "[BODY].msg == all good",
		withBody(`{"msg":"all good"}`), true, ""},
	{"blanks around", "  [STATUS]\t==   200  ", withStatus(200), true,
		"[STATUS] (200) == 200"},
	{"operator inside pat", "[BODY] == pat(*a == b*)", withBody("x a == b y"),
		true, ""},
	{"status zero when not HTTP", "[STATUS] == 0", condition.Result{}, true, ""},
}

func TestCondition_Eval(t *testing.T) {
	cases := append(append([]evalCase{}, readmeCases...), semanticCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := condition.Parse(tc.cond)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.cond, err)
			}
			ok, detail := c.Eval(&tc.result)
			if ok != tc.ok {
				t.Errorf("Eval(%q) = %v, want %v (detail %q)",
					tc.cond, ok, tc.ok, detail)
			}
			if tc.detail != "" && detail != tc.detail {
				t.Errorf("Eval(%q) detail = %q, want %q",
					tc.cond, detail, tc.detail)
			}
		})
	}
}

func TestCondition_String(t *testing.T) {
	text := "  [STATUS]  ==  200 "
	c, err := condition.Parse(text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.String(); got != text {
		t.Errorf("String() = %q, want %q", got, text)
	}
}

func TestEval_TruncatesLongBody(t *testing.T) {
	c, err := condition.Parse("[BODY] == short")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	long := strings.Repeat("é", 100)
	ok, detail := c.Eval(&condition.Result{Body: []byte(long)})
	if ok {
		t.Errorf("Eval = true, want false")
	}
	want := "[BODY] (" + strings.Repeat("é", 32) + "...) == short"
	if detail != want {
		t.Errorf("detail = %q, want %q", detail, want)
	}
}

func TestEval_ZeroCondition(t *testing.T) {
	var c condition.Condition
	if ok, detail := c.Eval(&condition.Result{}); ok {
		t.Errorf("Eval = true, want false (detail %q)", detail)
	}
}

func TestEval_NilResult(t *testing.T) {
	c, err := condition.Parse("[CONNECTED] == false")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	ok, detail := c.Eval(nil)
	if !ok {
		t.Errorf("Eval(nil) = false, want true (detail %q)", detail)
	}
}
