package estimator

import (
	"errors"
	"fmt"
)

// Code classifies an error so that the transport can map it to a status once.
type Code string

// The error codes of the domain.
const (
	EInvalid            Code = "invalid"
	ENotFound           Code = "not_found"
	EAlreadyExists      Code = "already_exists"
	EPermissionDenied   Code = "permission_denied"
	EUnauthenticated    Code = "unauthenticated"
	EFailedPrecondition Code = "failed_precondition"
	EResourceExhausted  Code = "resource_exhausted"
	EOutOfRange         Code = "out_of_range"
	EInternal           Code = "internal"
	// EUnavailable is a refusal for now that the same request may retry:
	// the store is closing.
	EUnavailable Code = "unavailable"
	// EDataLoss: stored data is damaged (a corrupted page of the file).
	EDataLoss Code = "data_loss"
)

// FieldViolation names one bad field, by its path in the request
// (e.g. "records[3].components[0].chip_id").
type FieldViolation struct {
	Field       string
	Description string
}

// Error is the domain's one error type. Message is safe to show to callers.
type Error struct {
	Code       Code
	Message    string
	Violations []FieldViolation
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (%s: %s", e.Message, e.Violations[0].Field, e.Violations[0].Description) +
		func() string {
			if n := len(e.Violations) - 1; n > 0 {
				return fmt.Sprintf("; and %d more)", n)
			}
			return ")"
		}()
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error carrying the violations, or nil if there
// are none.
func Invalid(msg string, vs []FieldViolation) error {
	if len(vs) == 0 {
		return nil
	}
	return &Error{Code: EInvalid, Message: msg, Violations: vs}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Prefix returns vs with prefix added to every field path, for nesting a
// record's violations under "records[i].".
func Prefix(prefix string, vs []FieldViolation) []FieldViolation {
	out := make([]FieldViolation, len(vs))
	for i, v := range vs {
		out[i] = FieldViolation{Field: prefix + v.Field, Description: v.Description}
	}
	return out
}
