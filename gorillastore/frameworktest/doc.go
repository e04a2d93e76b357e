// Package frameworktest holds only tests: gorillastore driven through the
// real session packages of echo (echo-contrib/session) and gin
// (gin-contrib/sessions, with ginstore). It is a module of its own so that
// neither framework becomes a dependency of gorillastore.
package frameworktest
