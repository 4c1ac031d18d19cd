# tlens_embed_files(<target> <name> <namespace> <files...>): compiles the files, byte for byte,
# into <target> as `std::string_view`s, one per file, named after it ("common.js" -> common_js),
# declared in the generated header "<name>.h". The files stay real files (read, linted and
# edited as JS/CSS); cmake/embed_files.cmake regenerates the C++ whenever one changes.
function(tlens_embed_files target name namespace)
  set(dir ${CMAKE_BINARY_DIR}/generated)
  set(inputs)
  foreach(file IN LISTS ARGN)
    list(APPEND inputs ${CMAKE_SOURCE_DIR}/${file})
  endforeach()
  add_custom_command(
    OUTPUT ${dir}/${name}.h ${dir}/${name}.cpp
    COMMAND ${CMAKE_COMMAND} -DOUTPUT_DIR=${dir} -DNAME=${name} -DNAMESPACE=${namespace}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake ${ARGN}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    DEPENDS ${inputs} ${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding ${name}: ${ARGN}"
    VERBATIM)
  target_sources(${target} PRIVATE ${dir}/${name}.cpp ${dir}/${name}.h)
  target_include_directories(${target} PRIVATE ${dir})
endfunction()
