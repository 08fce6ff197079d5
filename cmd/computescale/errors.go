package main

import (
	"fmt"
	"io"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// printError is how every command reports its failure: the error, then each
// field the server named in a google.rpc.BadRequest, one a line, so that a
// rejected request says what to fix rather than only that it was bad.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "computescale:", err)
	for _, v := range fieldViolations(err) {
		fmt.Fprintf(w, "  %s: %s\n", v.GetField(), v.GetDescription())
	}
}

// fieldViolations returns the BadRequest field violations of the gRPC status
// err carries (wrapped or not), if any.
func fieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			out = append(out, br.GetFieldViolations()...)
		}
	}
	return out
}
