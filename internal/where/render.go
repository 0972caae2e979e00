package where

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// rewriteNodes calls f on every *pg_query.Node of m, depth first; it
// does not descend into a node f reports it replaced.
func rewriteNodes(m protoreflect.Message, f func(*pg_query.Node) bool) {
	if n, ok := m.Interface().(*pg_query.Node); ok && f(n) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				rewriteNodes(l.Get(i).Message(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			rewriteNodes(v.Message(), f)
		}
		return true
	})
}

func typeNameNode(t pgType) *pg_query.TypeName {
	names := []*pg_query.Node{pg_query.MakeStrNode(typeInfos[t.id].name)}
	if t.id == tEnum && t.enum != nil {
		names = []*pg_query.Node{pg_query.MakeStrNode(t.enum.schema), pg_query.MakeStrNode(t.enum.name)}
	}
	tn := &pg_query.TypeName{Names: names, Typemod: -1}
	if t.array {
		tn.ArrayBounds = []*pg_query.Node{pg_query.MakeIntNode(-1)}
	}
	return tn
}

// deparseWhere deparses res (a "SELECT 1 WHERE …" statement) and returns
// the where clause part.
func deparseWhere(res *pg_query.ParseResult) (string, error) {
	s, err := pg_query.Deparse(res)
	if err != nil {
		return "", errAt(-1, "could not render the where clause: %v", err)
	}
	if !strings.HasPrefix(s, queryPrefix) {
		return "", errAt(-1, "could not render the where clause")
	}
	return s[len(queryPrefix):], nil
}

// renderNormalized substitutes '<value>'::<type> for each $n.
func renderNormalized(res *pg_query.ParseResult, params []string, types []pgType) (string, error) {
	c := proto.Clone(res).(*pg_query.ParseResult)
	rewriteNodes(c.ProtoReflect(), func(n *pg_query.Node) bool {
		if p := n.GetParamRef(); p != nil {
			i := int(p.Number) - 1
			n.Node = &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
				Arg:      pg_query.MakeAConstStrNode(params[i], -1),
				TypeName: typeNameNode(types[i]),
				Location: -1,
			}}
			return true
		}
		return false
	})
	return deparseWhere(c)
}
