# Turns the parameter table (JSON) into a C++ source file. The text is split
# into raw string literals below the 64 KiB a compiler must support
# (-Woverlength-strings) and joined at run time.
file(READ "${INPUT}" content)
string(LENGTH "${content}" length)
set(chunks "")
set(offset 0)
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} 16000 chunk)
  string(APPEND chunks "    R\"pvesimjson(${chunk})pvesimjson\",\n")
  math(EXPR offset "${offset} + 16000")
endwhile()
file(WRITE "${OUTPUT}.tmp"
"// Generated from tests/pvesim/schema/pve-8.4-params.json by embed.cmake. Do not edit.
#include <string>

namespace pvesim {
namespace {
const char* const kParts[] = {
${chunks}};
std::string joined() {
    std::string text;
    for (const char* part : kParts) text += part;
    return text;
}
const std::string kTable = joined();
}  // namespace
extern const char* const kSchemaTableJson;
const char* const kSchemaTableJson = kTable.c_str();
}  // namespace pvesim
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
