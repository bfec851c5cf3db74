package pipeline

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medaudit/medaudit/contract"
)

// Meta columns appended to every loaded record batch.
const (
	colLine  = "_line"  // CSV line or 1-based row index
	colHash  = "_hash"  // xxh3 of the canonical values
	colExtra = "_extra" // JSON object of columns the contract does not name
)

// ArrowType returns the Arrow type a contract column is staged as: the
// contract's "natural types" for Parquet and Arrow files.
func ArrowType(t contract.ColType) arrow.DataType {
	switch t {
	case contract.Date:
		return arrow.FixedWidthTypes.Date32
	case contract.Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case contract.Amount:
		return &arrow.Decimal128Type{Precision: 18, Scale: 2}
	case contract.Quantity:
		return &arrow.Decimal128Type{Precision: 18, Scale: 4}
	case contract.Ratio:
		return &arrow.Decimal128Type{Precision: 5, Scale: 4}
	case contract.Int:
		return arrow.PrimitiveTypes.Int32
	case contract.Bool:
		return arrow.FixedWidthTypes.Boolean
	}
	return arrow.BinaryTypes.String
}

// ContractSchema is the Arrow schema of a table's contract columns only, the
// shape Parquet and Arrow batch files are written in.
func ContractSchema(t *contract.Table) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: !c.Required}
	}
	return arrow.NewSchema(fields, nil)
}

// loadSchema is the contract columns followed by the meta columns: the
// shape of the record batches streamed into DuckDB.
func loadSchema(t *contract.Table) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(t.Columns)+3)
	for _, c := range t.Columns {
		fields = append(fields, arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: !c.Required})
	}
	fields = append(fields,
		arrow.Field{Name: colLine, Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: colHash, Type: arrow.PrimitiveTypes.Uint64},
		arrow.Field{Name: colExtra, Type: arrow.BinaryTypes.String, Nullable: true},
	)
	return arrow.NewSchema(fields, nil)
}
