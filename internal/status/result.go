package status

import "time"

// Result is the outcome of one run of a check or probe.
type Result struct {
	// At is when the run started.
	At time.Time
	// Status is what this run observed: up, degraded, down, or
	// maintenance when it ran inside a maintenance window.
	Status Status
	// HTTPStatus is the response status code, 0 without a response.
	HTTPStatus int
	// ResponseTime is how long the request or connection took.
	ResponseTime time.Duration
	// IP is the address connected to, if any.
	IP string
	// Error is the error text of a failed run, for operators. The page
	// and the API hide it for checks with HideErrors.
	Error string
	// Message is the public text of a probe result.
	Message string
	// Conditions are the evaluated conditions, degraded ones last.
	Conditions []ConditionResult
	// LastSuccessAt is the time of the last success a probe reports,
	// such as the newest backup. Zero means none.
	LastSuccessAt time.Time
	// AgeSeconds is the age a probe reports, valid when LastSuccessAt
	// is set.
	AgeSeconds int64
}

// ConditionResult is one evaluated condition.
type ConditionResult struct {
	// Condition is the condition's text.
	Condition string
	// Success reports whether it passed.
	Success bool
	// Detail shows the resolved values, such as
	// "[STATUS] (503) == 200".
	Detail string
}
